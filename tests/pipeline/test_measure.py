"""Measuring a lesion table: every lesion, all 41 features, grouped by image, resumable, locked."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

import mammocad.pipeline.measure as measure_module
from mammocad.datasets import read_lesion_table, write_lesion_table
from mammocad.errors import DatasetError, FeatureError, FeatureTableError
from mammocad.features import FEATURE_NAMES
from mammocad.features.table import read_feature_table, read_provenance, table_columns
from mammocad.io import ROI, Mammogram
from mammocad.pipeline import analysis_grid, measure_lesion_table, measure_on_grid
from mammocad.synth import make_cohort

TABLE_COLUMNS = table_columns() + measure_module.MEASUREMENT_COLUMNS


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    make_cohort(4, root, seed=1, size=384, pixel_spacing_mm=0.2)
    return read_lesion_table(root / "lesions.csv")


@pytest.fixture(scope="module")
def local_table(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "features.parquet"
    return out, measure_lesion_table(cohort, out, progress=False)


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
    provenance = read_provenance(out)
    assert set(provenance.rows) == set(cohort["lesion_id"])
    assert provenance.settings["mammocad_version"] and provenance.settings["grid_size"] == 1024


def test_rerun_resumes_and_computes_nothing(cohort, local_table):
    out, first = local_table
    again = measure_lesion_table(cohort, out, progress=False)
    assert again.attrs["computed"] == 0 and again.attrs["resumed"] == 4
    pd.testing.assert_frame_equal(again, first)


def _fake_measure(grid, roi, **_):
    return None, dict.fromkeys(FEATURE_NAMES, 1.0)


def test_interrupted_run_loses_nothing_written(cohort, tmp_path, monkeypatch):
    calls = []

    def interrupt_third(grid, roi, **_):
        calls.append(roi)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return _fake_measure(grid, roi)

    out = tmp_path / "f.csv"
    monkeypatch.setattr(measure_module, "measure_on_grid", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        measure_lesion_table(cohort, out, progress=False, chunk_size=100)
    # the two lesions measured before the interrupt were flushed on the way out
    assert list(read_feature_table(out)["lesion_id"]) == list(cohort["lesion_id"][:2])
    monkeypatch.setattr(measure_module, "measure_on_grid", _fake_measure)
    table = measure_lesion_table(cohort, out, progress=False, chunk_size=1)
    assert table.attrs["computed"] == 2 and table.attrs["resumed"] == 2
    assert list(table["lesion_id"]) == list(cohort["lesion_id"])


def test_kill_9_mid_run_loses_nothing_written(cohort, tmp_path):
    """A run killed by SIGKILL after two checkpoints: the rerun keeps both and measures the rest."""
    lesions_csv = tmp_path / "lesions.csv"
    write_lesion_table(cohort, lesions_csv)
    out = tmp_path / "features.parquet"
    child = textwrap.dedent(
        f"""
        import sys
        import mammocad.pipeline.measure as m
        from mammocad.features import FEATURE_NAMES
        calls = []
        def fake(grid, roi, **_):
            calls.append(roi)
            if len(calls) == 3:  # two lesions measured and checkpointed
                print("ready", flush=True)
                sys.stdin.read()  # wait to be killed
            return None, dict.fromkeys(FEATURE_NAMES, 2.0)
        m.measure_on_grid = fake
        m.measure_lesion_table({str(lesions_csv)!r}, {str(out)!r}, progress=False, chunk_size=1)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdin.close()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert list(read_feature_table(out)["lesion_id"]) == list(cohort["lesion_id"][:2])
    # the lock died with the process: the rerun is not refused
    table = measure_lesion_table(lesions_csv, out, progress=False)
    assert table.attrs["resumed"] == 2 and table.attrs["computed"] == 2
    assert list(table["lesion_id"]) == list(cohort["lesion_id"])
    assert (table.loc[:1, list(FEATURE_NAMES)] == 2.0).all().all()


def test_roi_from_mask_and_skipped_lesions(cohort, tmp_path, monkeypatch):
    monkeypatch.setattr(measure_module, "measure_on_grid", _fake_measure)
    table = cohort.copy()
    table.loc[0, ["x", "y", "radius"]] = np.nan  # has a mask: ROI from it
    table.loc[1, ["x", "y", "radius"]] = np.nan
    table.loc[1, "mask_path"] = ""  # neither: skipped
    table.loc[2, "image_path"] = str(tmp_path / "missing.png")  # unreadable: skipped
    with pytest.warns(
        UserWarning, match="2 of 4 lesions measured: 1 have an unreadable image, 1 have no usable ROI"
    ):
        out = measure_lesion_table(table, tmp_path / "f.parquet", progress=False)
    assert list(out["lesion_id"]) == [table.loc[0, "lesion_id"], table.loc[3, "lesion_id"]]
    reasons = {s["lesion_id"]: s["reason"] for s in out.attrs["skipped"]}
    assert "no ROI" in reasons[table.loc[1, "lesion_id"]]
    assert "no such file" in reasons[table.loc[2, "lesion_id"]]
    # the skipped lesions and why, in a file next to the output
    listed = pd.read_csv(tmp_path / "f.skipped.csv")
    assert list(listed["lesion_id"]) == [table.loc[1, "lesion_id"], table.loc[2, "lesion_id"]]
    assert list(listed["category"]) == ["roi", "image"]
    assert out.attrs["skipped_path"] == str(tmp_path / "f.skipped.csv")


def test_unexpected_errors_skip_the_lesion_not_the_batch(cohort, tmp_path, monkeypatch):
    def broken(grid, roi, **_):
        if roi.x == cohort.iloc[1]["x"] * grid.scale:  # the ROI is mapped onto the analysis grid
            raise RuntimeError("boom")
        return _fake_measure(grid, roi)

    monkeypatch.setattr(measure_module, "measure_on_grid", broken)
    with pytest.warns(UserWarning, match="1 failed with an unexpected error"):
        out = measure_lesion_table(cohort, tmp_path / "f.parquet", progress=False)
    assert len(out) == 3
    assert out.attrs["skipped"] == [
        {
            "lesion_id": cohort.iloc[1]["lesion_id"],
            "image_path": cohort.iloc[1]["image_path"],
            "category": "unexpected",
            "reason": "unexpected RuntimeError while measuring it: boom",
        }
    ]


def test_unknown_spacing_is_reported(cohort, tmp_path):
    table = cohort.iloc[:1].copy()
    table["pixel_spacing_mm"] = np.nan
    # nothing measured: the run fails with its summary, the reasons are in the skipped file
    with pytest.raises(
        FeatureError, match=r"^0 of 1 lesions measured: 1 lack pixel spacing; see .*f\.skipped\.csv$"
    ):
        measure_lesion_table(table, tmp_path / "f.parquet", progress=False)
    listed = pd.read_csv(tmp_path / "f.skipped.csv")
    assert list(listed["category"]) == ["spacing"] and "--pixel-spacing" in listed["reason"][0]
    assert list(read_feature_table(tmp_path / "f.parquet").columns) == list(table_columns())
    # the option fills in; the row records where its spacing came from
    out = measure_lesion_table(table, tmp_path / "f.parquet", progress=False, pixel_spacing_mm=0.2)
    assert len(out) == 1 and list(out["pixel_spacing_source"]) == ["option"]
    assert not (tmp_path / "f.skipped.csv").exists()  # nothing skipped now: no stale list left


def test_dask_workers_give_the_local_values(cohort, local_table, tmp_path):
    _, local = local_table
    subset = cohort.iloc[:2]
    table = measure_lesion_table(subset, tmp_path / "f.parquet", workers=2, progress=False)
    pd.testing.assert_frame_equal(table, local.iloc[:2].reset_index(drop=True))


def test_each_image_is_read_once_however_many_lesions_it_holds(cohort, local_table, tmp_path, monkeypatch):
    _, local = local_table
    # Three lesions on each film: the original ROI and two copies nudged by a pixel.
    copies = [cohort]
    for k, dx in ((1, 1.0), (2, -1.0)):
        copy = cohort.copy()
        copy["lesion_id"] = copy["lesion_id"] + f"_copy{k}"
        copy["x"] = copy["x"] + dx
        copies.append(copy)
    table = pd.concat(copies, ignore_index=True)
    reads = []
    real_read = measure_module.read_mammogram

    def counting_read(path, **kwargs):
        reads.append(os.path.basename(str(path)))
        return real_read(path, **kwargs)

    monkeypatch.setattr(measure_module, "read_mammogram", counting_read)
    out = measure_lesion_table(table, tmp_path / "f.parquet", progress=False)
    assert len(out) == 12 and out.attrs["computed"] == 12
    assert sorted(reads) == sorted(os.path.basename(p) for p in cohort["image_path"])  # once each
    # grouping does not change a value: the originals equal a run with one lesion per image
    pd.testing.assert_frame_equal(out.iloc[:4].reset_index(drop=True), local)


def test_bad_tables_and_outputs(cohort, tmp_path):
    with pytest.raises(DatasetError, match="duplicate lesion_id"):
        measure_lesion_table(pd.concat([cohort, cohort.iloc[:1]]), tmp_path / "f.parquet", progress=False)
    bad = cohort.copy()
    bad.loc[2, "pathology"] = "unknown"
    with pytest.raises(DatasetError, match="row 3.*pathology"):
        measure_lesion_table(bad, tmp_path / "f.parquet", progress=False)
    with pytest.raises(DatasetError, match="image_path is empty"):
        measure_lesion_table(cohort.drop(columns=["image_path"]), tmp_path / "f.parquet", progress=False)
    with pytest.raises(FeatureTableError, match=r"\.parquet or \.csv"):
        measure_lesion_table(cohort, tmp_path / "f.xlsx", progress=False)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(FeatureTableError, match="not a mammocad feature table"):
        measure_lesion_table(cohort, other, progress=False)
    with pytest.raises(FeatureError, match="chunk_size"):
        measure_lesion_table(cohort, tmp_path / "g.parquet", progress=False, chunk_size=0)


def test_measure_on_a_flat_grid_gives_defined_values():
    grid = analysis_grid(Mammogram(np.full((128, 128), 90, np.uint8), pixel_spacing_mm=0.2))
    _, f = measure_on_grid(grid, ROI(512, 512, 160))
    assert all(math.isfinite(v) for v in f.values())
    assert f["calc_count"] == 0


# --- the two bugs of issue 11 ------------------------------------------------------------


def test_a_changed_roi_is_measured_again_not_kept_stale(cohort, local_table, tmp_path):
    """Issue 11: resume keyed on lesion_id alone kept the stale row after the ROI changed."""
    out = tmp_path / "features.parquet"
    measure_lesion_table(cohort, out, progress=False)
    calcified = cohort.index[cohort["abnormality"] == "calcification"][0]
    changed = cohort.copy()
    # Move the ROI of a calcification cluster to the top-left corner of the film.
    changed.loc[calcified, ["x", "y", "radius"]] = [40.0, 40.0, 15.0]
    again = measure_lesion_table(changed, out, progress=False)
    fresh = measure_lesion_table(changed, tmp_path / "fresh.parquet", progress=False)
    lesion = changed.loc[calcified, "lesion_id"]
    row = again.set_index("lesion_id").loc[lesion]
    assert row["calc_count"] == fresh.set_index("lesion_id").loc[lesion, "calc_count"]
    assert row["calc_count"] != local_table[1].set_index("lesion_id").loc[lesion, "calc_count"]
    pd.testing.assert_frame_equal(again, fresh)
    assert again.attrs["computed"] == 1 and again.attrs["resumed"] == 3


def test_two_runs_writing_one_output_lose_no_row(cohort, tmp_path, monkeypatch):
    """Issue 11: two runs writing one output lost rows; now the second is refused while the first writes."""
    out = tmp_path / "features.parquet"
    first_half, second_half = cohort.iloc[:2], cohort.iloc[2:]
    inside = threading.Event()
    release = threading.Event()

    def slow_first(grid, roi, **_):
        if threading.current_thread().name == "first" and not inside.is_set():
            inside.set()
            assert release.wait(60)
        return _fake_measure(grid, roi)

    monkeypatch.setattr(measure_module, "measure_on_grid", slow_first)
    results: dict[str, object] = {}

    def run_first():
        results["first"] = measure_lesion_table(first_half, out, progress=False, chunk_size=1)

    thread = threading.Thread(target=run_first, name="first")
    thread.start()
    try:
        assert inside.wait(60)
        try:
            results["second"] = measure_lesion_table(second_half, out, progress=False, chunk_size=1)
        except FeatureTableError as exc:
            results["second"] = exc
    finally:
        release.set()
        thread.join(60)
    written = set(read_feature_table(out)["lesion_id"])
    reported = set(results["first"]["lesion_id"])
    if isinstance(results["second"], pd.DataFrame):
        reported |= set(results["second"]["lesion_id"])
    assert reported <= written, f"rows reported written but lost: {sorted(reported - written)}"
    assert isinstance(results["second"], FeatureTableError)
    assert "another run is writing" in str(results["second"]) and str(out) in str(results["second"])
    # once the first run is done, the second one runs and both halves are there
    both = measure_lesion_table(second_half, out, progress=False)
    assert set(both["lesion_id"]) == set(cohort["lesion_id"])


def test_new_settings_measure_everything_again(cohort, tmp_path, monkeypatch):
    monkeypatch.setattr(measure_module, "measure_on_grid", _fake_measure)
    out = tmp_path / "f.csv"
    measure_lesion_table(cohort, out, progress=False)
    real = measure_module.measurement_settings
    monkeypatch.setattr(
        measure_module,
        "measurement_settings",
        lambda feature_set: dict(real(feature_set), mammocad_version="9.9"),
    )
    again = measure_lesion_table(cohort, out, progress=False)
    assert again.attrs["computed"] == 4 and again.attrs["resumed"] == 0
    assert {p.mammocad_version for p in read_provenance(out).rows.values()} == {measure_module.__version__}


def test_changed_image_file_or_pathology_is_measured_again(cohort, tmp_path, monkeypatch):
    monkeypatch.setattr(measure_module, "measure_on_grid", _fake_measure)
    folder = tmp_path / "copy"
    folder.mkdir()
    table = cohort.copy()
    for k, path in enumerate(table["image_path"]):
        target = folder / os.path.basename(path)
        target.write_bytes(open(path, "rb").read())
        table.loc[k, "image_path"] = str(target)
    out = tmp_path / "f.parquet"
    measure_lesion_table(table, out, progress=False)
    os.utime(table.loc[0, "image_path"], ns=(0, 1_000_000_000))  # the film was replaced
    table.loc[3, "pathology"] = "benign" if table.loc[3, "pathology"] == "malignant" else "malignant"
    again = measure_lesion_table(table, out, progress=False)
    assert again.attrs["computed"] == 2 and again.attrs["resumed"] == 2
    assert again.loc[3, "label"] == int(table.loc[3, "pathology"] == "malignant")
