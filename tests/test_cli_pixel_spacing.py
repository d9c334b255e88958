"""One spelling of the pixel-spacing option across commands (``--pixel-spacing``), old spelling kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.datasets import read_lesion_table

runner = CliRunner()


@pytest.mark.parametrize("option", ["--pixel-spacing", "--pixel-spacing-mm"])
def test_synth_accepts_both_spellings(tmp_path: Path, option: str) -> None:
    out = tmp_path / "cohort"
    result = runner.invoke(
        app, ["synth", "--n", "1", "--out", str(out), "--size", "256", option, "0.3", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert (read_lesion_table(out / "lesions.csv")["pixel_spacing_mm"] == 0.3).all()


def test_help_names_the_consistent_spelling() -> None:
    for command in ("synth", "segment", "predict"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert re.search(r"--pixel-spacing\b(?!-)", result.stdout), command
