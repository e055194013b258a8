"""python -m abcodec.demo, the README's first command: its files and what it prints, with neither
scikit-image nor torch importable (the core install has neither)."""

import json
import subprocess
import sys

from PIL import Image

WITHOUT_OPTIONAL = ("import sys; sys.modules['skimage'] = sys.modules['torch'] = None; "
                    "from abcodec import demo; sys.exit(demo.main(sys.argv[1:]))")
"""The demo in a fresh interpreter where ``import skimage`` and ``import torch`` fail."""


def test_demo_writes_its_files_and_shows_what_auto_buys(tmp_path):
    result = subprocess.run([sys.executable, "-c", WITHOUT_OPTIONAL, "--out", str(tmp_path), "--bpp", "0.15"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for name in ("sample.png", "sample.abc", "sample-decoded.png", "sample-auto.abc"):
        assert (tmp_path / name).stat().st_size > 0
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    with Image.open(tmp_path / "sample.png") as sample:
        budget = 0.15 * sample.width * sample.height / 8
    assert summary["abc"]["bytes"] <= budget and summary["abc_auto"]["bytes"] <= budget
    assert summary["avif"]["bytes"] <= summary["abc"]["bytes"]
    # auto moves quality to the part of the image it ranks first, and costs some elsewhere
    assert summary["abc_auto"]["ssim_salient"] > summary["abc"]["ssim_salient"] + 0.01
    assert summary["abc_auto"]["ssim"] < summary["abc"]["ssim"]
