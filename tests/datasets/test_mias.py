"""The mini-MIAS adapter, on the real Info.txt and on small files written here."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mammocad.datasets import LESION_COLUMNS, load_mias, read_mias_info
from mammocad.errors import DatasetError
from mammocad.io import ROI, read_mammogram


@pytest.fixture(scope="module")
def table(mias_dir: Path):
    return load_mias(mias_dir)


def raw_rows(mias_dir: Path) -> list[list[str]]:
    """Info.txt's annotation rows split on whitespace, counted independently of the adapter."""
    lines = (mias_dir / "Info.txt").read_text(encoding="latin-1").splitlines()
    return [line.split() for line in lines if line.startswith("mdb")]


@pytest.mark.realdata
def test_counts_per_class_and_severity_match_the_file(table, mias_dir: Path) -> None:
    rows = raw_rows(mias_dir)
    assert len({r[0] for r in rows}) == 322  # every film listed
    expected = Counter((r[2], r[3]) for r in rows if r[2] != "NORM")
    got = Counter(zip(table["mias_class"], table["pathology"].str[0].str.upper(), strict=True))
    assert got == expected
    assert len(table) == sum(1 for r in rows if r[2] != "NORM") == 123
    # The figures stated in SOURCE.txt.
    calc = table[table["abnormality"] == "calcification"]["pathology"].value_counts()
    assert (calc["benign"], calc["malignant"]) == (15, 15)
    mass = table[table["abnormality"] == "mass"]["pathology"].value_counts()
    assert (mass["benign"], mass["malignant"]) == (39, 20)
    other = table[table["abnormality"] == "other"]
    assert set(other["mias_class"]) == {"ARCH", "ASYM"} and len(other) == 34
    assert not table["film"].isin([r[0] for r in rows if r[2] == "NORM"]).any()


@pytest.mark.realdata
def test_columns_and_constant_fields(table) -> None:
    assert list(table.columns[: len(LESION_COLUMNS)]) == list(LESION_COLUMNS)
    assert set(table.columns) >= {"film", "tissue", "mias_class"}
    assert (table["view"] == "MLO").all() and (table["pixel_spacing_mm"] == 0.2).all()
    assert (table["split"] == "").all() and (table["mask_path"] == "").all()
    assert set(table["tissue"]) == {"F", "G", "D"}
    assert table["lesion_id"].is_unique


@pytest.mark.realdata
def test_ids_patients_laterality(table) -> None:
    by_id = table.set_index("lesion_id")
    assert by_id.loc["mdb001", "patient_id"] == by_id.loc["mdb002", "patient_id"] == "mias_001"
    assert by_id.loc["mdb315", "patient_id"] == "mias_158"
    # Note 1 of Info.txt: even filename numbers are left breasts, odd ones right.
    assert (by_id.loc["mdb001", "laterality"], by_id.loc["mdb002", "laterality"]) == ("R", "L")
    numbers = table["film"].str[3:].astype(int)
    assert (table["laterality"] == np.where(numbers % 2 == 0, "L", "R")).all()
    # Several rows on one film: numbered lesions on the same image.
    for film, count in (("mdb005", 2), ("mdb226", 3), ("mdb144", 2)):
        ids = table.loc[table["film"] == film, "lesion_id"].tolist()
        assert ids == [f"{film}_{i}" for i in range(1, count + 1)]
    assert table.loc[table["film"] == "mdb144", "pathology"].tolist() == ["benign", "malignant"]


@pytest.mark.realdata
def test_image_paths_exist(table, mias_dir: Path) -> None:
    assert table["image_path"].map(lambda p: Path(p).is_file()).all()
    assert table.loc[0, "image_path"] == str((mias_dir / "mdb001.png").resolve())


@pytest.mark.realdata
def test_y_is_flipped_and_rows_without_coordinates_kept(table, mias_dir: Path) -> None:
    lines = {r[0] + "/" + "/".join(r[4:]) for r in raw_rows(mias_dir)}
    by_id = table.set_index("lesion_id")
    assert (by_id.loc["mdb001", "x"], by_id.loc["mdb001", "y"], by_id.loc["mdb001", "radius"]) == (
        535.0,
        1024.0 - 425.0,
        197.0,
    )
    assert "mdb001/535/425/197" in lines
    no_roi = table[table[["x", "y", "radius"]].isna().all(axis=1)]
    assert sorted(no_roi["lesion_id"]) == ["mdb059", "mdb216", "mdb233", "mdb245"]
    assert set(no_roi["mias_class"]) == {"CIRC", "CALC"}
    with_roi = table.drop(no_roi.index)
    assert with_roi[["x", "y", "radius"]].notna().all().all()


def _mean_in(pixels: np.ndarray, roi: ROI) -> float:
    return float(pixels[roi.mask(pixels.shape)].mean())


@pytest.mark.realdata
@pytest.mark.parametrize("lesion_id", ["mdb001", "mdb028"])
def test_flipped_roi_sits_on_the_bright_mass(table, lesion_id: str) -> None:
    row = table.set_index("lesion_id").loc[lesion_id]
    pixels = read_mammogram(row["image_path"]).pixels
    roi = ROI(row["x"], row["y"], row["radius"])
    inside = _mean_in(pixels, ROI(roi.x, roi.y, roi.radius * 0.5))
    breast = float(pixels[pixels > 40].mean())  # the breast, without the black background
    unflipped = _mean_in(pixels, ROI(roi.x, 1024 - roi.y, roi.radius * 0.5))
    assert inside > breast + 20, (inside, breast)
    assert inside > unflipped + 20, (inside, unflipped)


def _write_info(folder: Path, rows: list[str], films: list[str]) -> Path:
    text = "MIAS header prose\nmentioning mdb in the text: nothing to parse\n\n" + "\n".join(rows) + "\n===\n"
    (folder / "Info.txt").write_text(text)
    for film in films:
        (folder / f"{film}.pgm").write_bytes(b"P5\n1 1\n255\n\x00")
    return folder


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("mdb003 X CIRC B 1 2 3", "unknown background tissue 'X'"),
        ("mdb003 F BLOB B 1 2 3", "unknown class 'BLOB'"),
        ("mdb003 F CIRC 1 2 3", "without severity"),
        ("mdb003 F CIRC B 1 2", "three numbers"),
        ("mdb003 F CIRC B 1 two 3", "whole numbers"),
        ("mdb003 F CIRC B 1 2000 3", "outside"),
        ("mdb003 F CIRC B 1 2 0", "radius"),
        ("mdb003 F", "expected 'mdbNNN TISSUE CLASS"),
    ],
)
def test_malformed_info_row_names_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    _write_info(tmp_path, ["mdb001 F NORM", "mdb002 G CALC M *NOTE 3*", row], ["mdb001", "mdb002", "mdb003"])
    with pytest.raises(DatasetError, match=re.escape(message)) as info:
        load_mias(tmp_path)
    assert f"{tmp_path / 'Info.txt'}: line 6" in str(info.value)


def test_small_info_written_here(tmp_path: Path) -> None:
    rows = [
        "mdb001 F NORM ",
        "mdb002 G CALC M *NOTE 3* ",
        "mdb003 D SPIC B 10 20 5",
        "mdb003 D ASYM M 30 40 6",
    ]
    _write_info(tmp_path, rows, ["mdb001", "mdb002", "mdb003"])
    table = load_mias(tmp_path)
    assert table["lesion_id"].tolist() == ["mdb002", "mdb003_1", "mdb003_2"]
    assert table["patient_id"].tolist() == ["mias_001", "mias_002", "mias_002"]
    assert table["abnormality"].tolist() == ["calcification", "mass", "other"]
    assert math.isnan(table.loc[0, "x"]) and table.loc[1, "y"] == 1004.0
    assert table.loc[0, "image_path"].endswith("mdb002.pgm")  # the distributed PGM accepted
    info = read_mias_info(tmp_path / "Info.txt")
    assert info["line"].tolist() == [4, 5, 6, 7]


def test_filters_by_abnormality_and_roi(tmp_path: Path) -> None:
    rows = ["mdb001 G CALC M *NOTE 3* ", "mdb002 D SPIC B 10 20 5", "mdb002 D ASYM M 30 40 6"]
    _write_info(tmp_path, rows, ["mdb001", "mdb002"])
    both = load_mias(tmp_path, abnormalities=("calcification", "mass"))
    assert both["lesion_id"].tolist() == ["mdb001", "mdb002_1"]
    assert load_mias(tmp_path, abnormalities=("calcification", "mass"), with_roi=True)[
        "lesion_id"
    ].tolist() == ["mdb002_1"]
    assert len(load_mias(tmp_path, with_roi=True)) == 2
    with pytest.raises(DatasetError, match="unknown abnormality 'cyst'"):
        load_mias(tmp_path, abnormalities=("cyst",))


def test_missing_film_or_info(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no Info.txt"):
        load_mias(tmp_path)
    _write_info(tmp_path, ["mdb001 F CIRC B 1 2 3"], [])
    with pytest.raises(DatasetError, match="film mdb001 not found"):
        load_mias(tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        load_mias(tmp_path / "absent")
