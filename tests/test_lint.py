"""The code passes ruff with the rules pyproject.toml's [tool.ruff] chooses, so that an unused
import or an undefined name fails the suite rather than waiting for a reviewer."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("abcodec", "benchmarks", "tests", "fuzz")


def test_ruff_finds_nothing():
    pytest.importorskip("ruff", reason="ruff is not installed (the test extra installs it)")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *CHECKED], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
