"""The command line shell: one-line errors, versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from mammocad.cli import app

runner = CliRunner()


def test_file_system_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    image = tmp_path / "film.png"
    Image.fromarray(np.full((64, 64), 90, dtype=np.uint8)).save(image)
    not_a_folder = tmp_path / "out"
    not_a_folder.write_text("a file where the output folder should be")
    result = runner.invoke(
        app,
        ["segment", str(image), "--roi", "32,32,10", "--pixel-spacing", "0.2", "--out", str(not_a_folder)],
    )
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and str(not_a_folder) in lines[-1]
    assert "Traceback" not in result.output


def test_version_lists_the_libraries() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    for name in ("mammocad", "numpy", "scikit-learn", "pydicom", "torch"):
        assert any(line.split()[0] == name for line in result.output.splitlines())
