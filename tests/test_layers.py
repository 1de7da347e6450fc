"""The layers of DESIGN.md, checked by import-linter on every test run."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).parent / "lint-imports")


def lint(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--config", str(folder / "pyproject.toml")], cwd=folder, capture_output=True, text=True)


def test_import_contracts_are_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def test_a_layer_violation_is_caught(tmp_path):
    for name in ("portal", "payments", "notifications", "metering", "demo", "billing", "migrations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "billing" / "sneaky.py").write_text("from flask import request\nimport portal\n")
    result = subprocess.run(
        [LINT, "--config", "pyproject.toml"], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "billing.sneaky -> portal" in result.stdout and "billing.sneaky -> flask" in result.stdout
