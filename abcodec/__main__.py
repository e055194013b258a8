"""``python -m abcodec``: what the package offers, and where to read more.

It imports no more than ``import abcodec`` does, so it answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

OVERVIEW = """\
abcodec {version}: Ablative Image Compression, .abc format {format}.
Keeps a few pixels (or a coarse AV1 base layer) and inpaints the rest.

Commands (each has --help with examples, and --version):
  abc-encode IN OUT.abc         compress anything Pillow reads (IN... -o DIR for several)
  abc-decode IN.abc OUT.png     decompress to anything Pillow writes (IN.abc... -o DIR)

Python:
  import abcodec
  data = abcodec.encode(image, options=abcodec.EncodeOptions(bpp=0.25))  # PIL image or uint8 array
  image = abcodec.decode(data)                                           # a PIL image: L, LA, RGB or RGBA
  image = abcodec.decode(data, options=abcodec.DecodeOptions(inpainter="diffusion"))  # the fast decode
  errors are abcodec.AbcError (a ValueError)
  help(abcodec.EncodeOptions) and help(abcodec.DecodeOptions) list the options

Pillow (the plugin is registered by import abcodec):
  Image.open("photo.abc"); im.save("photo.abc", bpp=0.25)
  abcodec.register_abc_opener(inpainter="diffusion")  # decode fast, without the generative decoder

Documentation: README.md (the distribution's description: pip show -v abcodec) and, in the source
tree, format_spec/abc.md
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Print the overview; there are no options."""
    from . import __version__, container

    print(OVERVIEW.format(version=__version__, format=container.VERSION), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
