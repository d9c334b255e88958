"""The synthetic CBIS-DDSM (mammocad.synth.archive): TCIA layout, DICOM files, tables and quirks."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import RLELossless

from mammocad.datasets import load_cbis_ddsm
from mammocad.errors import SynthesisError
from mammocad.io import read_mammogram
from mammocad.synth.archive import CBIS_TABLE_COLUMNS, make_tcia_archive, plan_tcia_archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("cbis-synthetic")
    # Small films (384 px drawn at 0.2 mm, interpolated twice) keep this quick.
    return make_tcia_archive(out, 6, seed=3, render_size=384, upsample=2)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_four_tables_with_the_published_columns(archive, data_root_or_none: Path | None) -> None:
    names = sorted(p.name for p in archive.tables)
    assert names == [
        "calc_case_description_test_set.csv",
        "calc_case_description_train_set.csv",
        "mass_case_description_test_set.csv",
        "mass_case_description_train_set.csv",
    ]
    for path in archive.tables:
        header, _ = read_rows(path)
        kind = "calcification" if path.name.startswith("calc") else "mass"
        assert tuple(header) == CBIS_TABLE_COLUMNS[kind]
        if data_root_or_none is not None:  # the real tables' header, byte for byte
            real = data_root_or_none / "cbis-ddsm-tables" / path.name
            assert header == real.read_text(encoding="utf-8-sig").splitlines()[0].split(",")


def test_every_image_and_mask_found_and_roi_is_the_drawn_lesion(archive) -> None:
    table = load_cbis_ddsm(archive.tables, archive.image_root)
    assert len(table) == archive.lesions == 6
    assert table["image_found"].all() and table["mask_found"].all()
    assert table["x"].notna().all()
    assert (table["nominal_pixel_spacing_mm"] == 0.0435).all() and table["pixel_spacing_mm"].isna().all()
    # Each ROI lies inside its film and holds the mask it came from.
    for row in table.itertuples():
        mask = read_mammogram(row.mask_path).pixels > 0
        rr, cc = np.nonzero(mask)
        assert np.hypot(cc - row.x, rr - row.y).max() <= row.radius
        film = pydicom.dcmread(row.image_path, stop_before_pixels=True)
        assert mask.shape == (film.Rows, film.Columns)


def test_dicom_files_look_like_cbis_ddsm(archive) -> None:
    table = load_cbis_ddsm(archive.tables, archive.image_root)
    film = pydicom.dcmread(table["image_path"].iloc[0])
    assert film.file_meta.TransferSyntaxUID == RLELossless
    assert film.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
    assert (film.BitsAllocated, film.PhotometricInterpretation, film.Modality) == (16, "MONOCHROME2", "MG")
    assert "PixelSpacing" not in film and "ImagerPixelSpacing" not in film
    assert film.PatientID == Path(table["image_path"].iloc[0]).parts[-4]  # the series folder name
    mask = pydicom.dcmread(table["mask_path"].iloc[0])
    assert mask.BitsAllocated == 8 and set(np.unique(mask.pixel_array)) == {0, 255}
    crop = pydicom.dcmread(table["cropped_path"].iloc[0].strip())
    assert crop.BitsAllocated == 16 and crop.Rows < film.Rows


def test_quirks_of_the_published_tables(archive) -> None:
    for path in archive.tables:
        header, rows = read_rows(path)
        if not rows:
            continue
        if path.name.startswith("calc"):
            assert "breast density" in header
            assert all(r["cropped image file path"].endswith("\n") for r in rows)
        else:
            assert "breast_density" in header
            assert all(r["ROI mask file path"].endswith("\n") for r in rows)


def test_plan_mixes_lesions_per_film_pathologies_splits_and_swaps() -> None:
    films = plan_tcia_archive(600, seed=0)
    assert sum(len(f.pathologies) for f in films) == 600
    per_film = Counter(len(f.pathologies) for f in films)
    assert per_film[1] > per_film[2] > 0 and per_film[3] > 0
    pathologies = Counter(p for f in films for p in f.pathologies)
    assert set(pathologies) == {"MALIGNANT", "BENIGN", "BENIGN_WITHOUT_CALLBACK"}
    assert {f.split for f in films} == {"train", "test"} and {f.kind for f in films} == {
        "calcification",
        "mass",
    }
    swapped = [s[4] for f in films for s in f.lesion_series]
    assert 0.1 < np.mean(swapped) < 0.3
    # A patient is in one split only.
    splits: dict[str, set[str]] = {}
    for film in films:
        splits.setdefault(film.patient_id, set()).add(film.split)
    assert all(len(s) == 1 for s in splits.values())
    assert plan_tcia_archive(600, seed=0) == films  # seeded
    assert plan_tcia_archive(600, seed=1) != films


def test_rerun_writes_nothing_new(archive) -> None:
    files = sorted(archive.image_root.rglob("*.dcm"))
    stamps = [p.stat().st_mtime_ns for p in files]
    again = make_tcia_archive(archive.root, 6, seed=3, render_size=384, upsample=2)
    assert again.lesions == archive.lesions
    assert [p.stat().st_mtime_ns for p in files] == stamps


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_lesion_count(bad: object) -> None:
    with pytest.raises(SynthesisError, match="n_lesions"):
        plan_tcia_archive(bad)  # type: ignore[arg-type]
