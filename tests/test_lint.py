"""Pyflakes rules over the whole tree (unused imports, undefined names), in the test run."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_unused_imports_or_undefined_names():
    result = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "."], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
