"""The README's Python examples run as written: every doc example is a test, so that the docs
cannot drift from the code (constriction's habit).

Each ```python block runs in a fresh interpreter, in a folder holding the files it names:
photo.png, a photo at Kodak's 768x512 (where the descent example once wrote a file the decoder
refused), and map.png, a grey importance map. An AbcWarning is an error there: an example that
converts its input, or writes a file default decoders refuse, is not one to copy.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

README = Path(__file__).parents[1] / "README.md"
EXAMPLES = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
STRICT = "import warnings\nimport abcodec\nwarnings.simplefilter('error', abcodec.AbcWarning)\n"


def test_the_readme_has_python_examples():
    assert EXAMPLES and all("photo.png" in example for example in EXAMPLES)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    Image.fromarray(data.coffee()).resize((768, 512), Image.Resampling.LANCZOS).save(tmp_path / "photo.png")
    ramp = np.linspace(0, 255, 768).astype(np.uint8)
    Image.fromarray(np.tile(ramp, (512, 1))).save(tmp_path / "map.png")
    return tmp_path


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"block{i}" for i in range(len(EXAMPLES))])
def test_the_python_examples_run_as_written(folder, example):
    result = subprocess.run([sys.executable, "-c", STRICT + example], cwd=folder, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
