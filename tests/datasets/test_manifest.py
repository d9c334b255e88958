"""``mammocad manifest csv``: the optional columns may be left out of a manifest."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.datasets import LESION_COLUMNS, OPTIONAL_COLUMNS, load_manifest, read_lesion_table
from mammocad.errors import DatasetError

runner = CliRunner()


def test_minimal_manifest_without_optional_columns(tmp_path: Path) -> None:
    (tmp_path / "case1.png").write_bytes(b"x")
    src = tmp_path / "minimal.csv"
    src.write_text(
        "lesion_id,patient_id,image_path,abnormality,x,y,radius,pathology\n"
        "case1,p1,case1.png,mass,812,1430,95,malignant\n"
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["manifest", "csv", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = read_lesion_table(out)
    assert list(table.columns[: len(LESION_COLUMNS)]) == list(LESION_COLUMNS)
    row = table.iloc[0]
    assert (row["laterality"], row["view"], row["mask_path"], row["split"]) == ("", "", "", "")
    assert math.isnan(row["pixel_spacing_mm"])
    assert row["image_path"] == str(tmp_path / "case1.png")


@pytest.mark.parametrize("left_out", OPTIONAL_COLUMNS)
def test_each_optional_column_may_be_left_out(tmp_path: Path, left_out: str) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    columns = [c for c in LESION_COLUMNS if c != left_out]
    values = {"lesion_id": "l1", "patient_id": "p1", "image_path": "a.png", "laterality": "L", "view": "CC",
              "abnormality": "mass", "x": "5", "y": "6", "radius": "2", "mask_path": "", "pathology": "benign",
              "pixel_spacing_mm": "0.1", "split": "train"}  # fmt: skip
    src = tmp_path / "m.csv"
    src.write_text(",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n")
    assert len(load_manifest(src)) == 1


def test_required_columns_still_named(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("lesion_id,patient_id,image_path,x,y,radius\nl1,p1,a.png,1,2,3\n")
    with pytest.raises(DatasetError, match="missing column\\(s\\) abnormality, pathology"):
        load_manifest(src, check_files=False)
