"""abcodec: Ablative Image Compression."""

# Importing the package registers the Pillow plugin, as Pillow has no plugin entry points;
# register_abc_opener() is the explicit form for code whose linter drops unused imports.
from .pillow import register_abc_opener

__all__ = ["register_abc_opener"]
