"""``mammocad manifest mias|cbis-ddsm|csv``: tables written, summaries, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.datasets import LESION_COLUMNS, read_lesion_table

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["manifest", *args])


@pytest.mark.realdata
def test_manifest_mias(mias_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lesions.csv"
    result = run("mias", str(mias_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (
        "123 lesions, 108 patients; calcification 30, mass 59, other 34; benign 69, malignant 54"
        in result.stdout
    )
    table = read_lesion_table(out, check_files=True)
    assert len(table) == 123 and list(table.columns[:13]) == list(LESION_COLUMNS)
    quiet = run("mias", str(mias_dir), "--out", str(tmp_path / "q.csv"), "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == ""
    assert (tmp_path / "q.csv").read_bytes() == out.read_bytes()


@pytest.mark.realdata
def test_manifest_cbis_ddsm(data_root: Path, tmp_path: Path) -> None:
    tables = data_root / "cbis-ddsm-tables"
    csvs = [tables / "calc_case_description_test_set.csv", tables / "mass_case_description_test_set.csv"]
    if not all(p.is_file() for p in csvs):
        pytest.skip("CBIS-DDSM tables not found")
    out = tmp_path / "cbis.csv"
    result = run("cbis-ddsm", *map(str, csvs), "--images", str(tmp_path / "images"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "704 lesions" in result.stdout and "images found for 0 of 704 lesions" in result.stdout
    assert len(pd.read_csv(out)) == 704


def test_manifest_csv_validates_and_normalises(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    src = tmp_path / "in.csv"
    src.write_text(
        ",".join(["birads", *LESION_COLUMNS]) + "\n"
        "4,l1,p1,a.png,left,cc,Calcification,5,6,2,,Malignant,0.1,Train\n"
    )
    out = tmp_path / "out" / "norm.csv"
    result = run("csv", str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 lesions, 1 patients; calcification 1, mass 0, other 0; benign 0, malignant 1" in result.stdout
    table = read_lesion_table(out)
    assert list(table.columns) == [*LESION_COLUMNS, "birads"]
    assert table.loc[0, ["laterality", "view", "abnormality", "pathology", "split"]].tolist() == [
        "L",
        "CC",
        "calcification",
        "malignant",
        "train",
    ]
    assert table.loc[0, "image_path"] == str((tmp_path / "a.png").resolve())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("l2,p1,a.png,L,CC,mass,5,6,-2,,benign,,", "line 3: radius must be > 0"),
        ("l2,p1,missing.png,L,CC,mass,5,6,2,,benign,,", "line 3: image_path .*missing.png does not exist"),
        ("l1,p1,a.png,L,CC,mass,5,6,2,,benign,,", "line 3: duplicate lesion_id 'l1'"),
    ],
)
def test_manifest_csv_malformed_row_is_one_line_error(tmp_path: Path, line: str, message: str) -> None:
    import re

    (tmp_path / "a.png").write_bytes(b"x")
    src = tmp_path / "in.csv"
    src.write_text(",".join(LESION_COLUMNS) + "\nl1,p1,a.png,L,CC,mass,5,6,2,,benign,,\n" + line + "\n")
    out = tmp_path / "out.csv"
    result = run("csv", str(src), "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {src}: ") and result.stderr.count("\n") == 1
    assert re.search(message, result.stderr)
    assert not out.exists()


def test_manifest_errors_for_bad_folders(tmp_path: Path) -> None:
    result = run("mias", str(tmp_path), "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "no Info.txt" in result.stderr
    result = run(
        "cbis-ddsm", str(tmp_path / "nope.csv"), "--images", str(tmp_path), "--out", str(tmp_path / "x.csv")
    )
    assert result.exit_code == 1 and "nope.csv: no such file" in result.stderr
    assert run("csv", "--help").exit_code == 0
