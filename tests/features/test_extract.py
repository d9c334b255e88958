"""From a lesion table to the feature table: every lesion, all 41 features, resumable."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import mammocad.features.extract as extract_module
from mammocad.datasets import read_lesion_table
from mammocad.errors import FeatureError, ROIError
from mammocad.features import FEATURE_NAMES, extract_lesion_features, extract_table
from mammocad.features.extract import TABLE_COLUMNS, read_feature_table
from mammocad.io import ROI, Mammogram, read_mammogram
from mammocad.synth import make_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    make_cohort(4, root, seed=1, size=384, pixel_spacing_mm=0.2)
    return read_lesion_table(root / "lesions.csv")


@pytest.fixture(scope="module")
def local_table(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "features.parquet"
    return out, extract_table(cohort, out, progress=False)


def test_every_lesion_gets_all_41_features(cohort, local_table):
    out, table = local_table
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert list(table["lesion_id"]) == list(cohort["lesion_id"])
    assert table[list(FEATURE_NAMES)].notna().all().all()
    assert np.isfinite(table[list(FEATURE_NAMES)].to_numpy()).all()
    assert list(table["label"]) == [int(p == "malignant") for p in cohort["pathology"]]
    assert table.attrs["computed"] == 4 and table.attrs["skipped"] == []
    # the segmentations find what was drawn
    for row, lesion in zip(table.itertuples(), cohort.itertuples(), strict=True):
        if lesion.abnormality in ("calcification", "both"):
            assert row.calc_count > 0, row.lesion_id
    assert read_feature_table(out).equals(table)


def test_rerun_resumes_and_computes_nothing(cohort, local_table):
    out, first = local_table
    again = extract_table(cohort, out, progress=False)
    assert again.attrs["computed"] == 0 and again.attrs["resumed"] == 4
    pd.testing.assert_frame_equal(again, first)


def _fake_features(mammogram, roi, *, normalise=True):
    return dict.fromkeys(FEATURE_NAMES, 1.0)


def test_interrupted_run_loses_nothing_written(cohort, tmp_path, monkeypatch):
    calls = []

    def interrupt_third(mammogram, roi, *, normalise=True):
        calls.append(roi)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return _fake_features(mammogram, roi)

    out = tmp_path / "f.csv"
    monkeypatch.setattr(extract_module, "extract_lesion_features", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        extract_table(cohort, out, progress=False, chunk_size=100)
    # the two lesions measured before the interrupt were flushed on the way out
    assert list(read_feature_table(out)["lesion_id"]) == list(cohort["lesion_id"][:2])
    monkeypatch.setattr(extract_module, "extract_lesion_features", _fake_features)
    table = extract_table(cohort, out, progress=False, chunk_size=1)
    assert table.attrs["computed"] == 2 and table.attrs["resumed"] == 2
    assert list(table["lesion_id"]) == list(cohort["lesion_id"])


def test_roi_from_mask_and_skipped_lesions(cohort, tmp_path, monkeypatch):
    monkeypatch.setattr(extract_module, "extract_lesion_features", _fake_features)
    table = cohort.copy()
    table.loc[0, ["x", "y", "radius"]] = np.nan  # has a mask: ROI from it
    table.loc[1, ["x", "y", "radius"]] = np.nan
    table.loc[1, "mask_path"] = ""  # neither: skipped
    table.loc[2, "image_path"] = str(tmp_path / "missing.png")  # unreadable: skipped
    with pytest.warns(UserWarning, match="skipped"):
        out = extract_table(table, tmp_path / "f.parquet", progress=False)
    assert list(out["lesion_id"]) == [table.loc[0, "lesion_id"], table.loc[3, "lesion_id"]]
    reasons = {s["lesion_id"]: s["reason"] for s in out.attrs["skipped"]}
    assert "no ROI" in reasons[table.loc[1, "lesion_id"]]
    assert "no such file" in reasons[table.loc[2, "lesion_id"]]


def test_unexpected_errors_skip_the_lesion_not_the_batch(cohort, tmp_path, monkeypatch):
    def broken(mammogram, roi, *, normalise=True):
        if roi.x == cohort.iloc[1]["x"]:
            raise RuntimeError("boom")
        return _fake_features(mammogram, roi)

    monkeypatch.setattr(extract_module, "extract_lesion_features", broken)
    with pytest.warns(UserWarning, match="RuntimeError"):
        out = extract_table(cohort, tmp_path / "f.parquet", progress=False)
    assert len(out) == 3
    assert out.attrs["skipped"] == [
        {
            "lesion_id": cohort.iloc[1]["lesion_id"],
            "reason": "unexpected RuntimeError while measuring it: boom",
        }
    ]


def test_unknown_spacing_is_reported(cohort, tmp_path):
    table = cohort.iloc[:1].copy()
    table["pixel_spacing_mm"] = np.nan
    with pytest.warns(UserWarning, match="pixel spacing unknown"):
        out = extract_table(table, tmp_path / "f.parquet", progress=False)
    assert len(out) == 0 and len(out.attrs["skipped"]) == 1
    assert list(read_feature_table(tmp_path / "f.parquet").columns) == list(TABLE_COLUMNS)


def test_dask_workers_give_the_local_values(cohort, local_table, tmp_path):
    _, local = local_table
    subset = cohort.iloc[:2]
    table = extract_table(subset, tmp_path / "f.parquet", workers=2, progress=False)
    pd.testing.assert_frame_equal(table, local.iloc[:2].reset_index(drop=True))


def test_bad_tables_and_outputs(cohort, tmp_path):
    with pytest.raises(FeatureError, match="more than once"):
        extract_table(pd.concat([cohort, cohort.iloc[:1]]), tmp_path / "f.parquet", progress=False)
    bad = cohort.copy()
    bad.loc[2, "pathology"] = "unknown"
    with pytest.raises(FeatureError, match="row 2.*pathology"):
        extract_table(bad, tmp_path / "f.parquet", progress=False)
    with pytest.raises(FeatureError, match="lacks column"):
        extract_table(cohort.drop(columns=["image_path"]), tmp_path / "f.parquet", progress=False)
    with pytest.raises(FeatureError, match=r"\.parquet or \.csv"):
        extract_table(cohort, tmp_path / "f.xlsx", progress=False)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(FeatureError, match="not a mammocad feature table"):
        extract_table(cohort, other, progress=False)
    with pytest.raises(FeatureError, match="chunk_size"):
        extract_table(cohort, tmp_path / "g.parquet", progress=False, chunk_size=0)


@pytest.mark.parametrize(("column", "value"), [("label", "abc"), (FEATURE_NAMES[0], "x")])
def test_feature_table_with_non_numbers_is_refused(tmp_path, column, value):
    row = dict.fromkeys(TABLE_COLUMNS, "1")
    row[column] = value
    path = tmp_path / "f.csv"
    pd.DataFrame([row]).to_csv(path, index=False)
    with pytest.raises(FeatureError, match="not a number"):
        read_feature_table(path)


def test_extract_lesion_features_maps_the_roi(cohort):
    row = cohort.iloc[0]
    mg = read_mammogram(row.image_path, pixel_spacing_mm=row.pixel_spacing_mm)
    f = extract_lesion_features(mg, ROI(row.x, row.y, row.radius))
    assert list(f) == list(FEATURE_NAMES) and all(math.isfinite(v) for v in f.values())
    with pytest.raises(FeatureError, match="pixel spacing unknown"):
        extract_lesion_features(mg.replace(pixel_spacing_mm=None), ROI(row.x, row.y, row.radius))
    with pytest.raises(ROIError):
        extract_lesion_features(mg, ROI(5000, 5000, 10))


def test_no_normalise_on_a_flat_image_gives_defined_values():
    mg = Mammogram(np.full((128, 128), 90, np.uint8), pixel_spacing_mm=0.2)
    f = extract_lesion_features(mg, ROI(64, 64, 20), normalise=False)
    assert all(math.isfinite(v) for v in f.values())
    assert f["calc_count"] == 0
