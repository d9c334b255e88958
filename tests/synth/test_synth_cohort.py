"""make_cohort and contact_sheet: balanced plan, files, resume, bad options, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from _synth_cases import SIZE, SPACING
from PIL import Image
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.datasets import LESION_COLUMNS, read_lesion_table
from mammocad.errors import SynthesisError
from mammocad.io import read_mammogram
from mammocad.synth import SyntheticCase, contact_sheet, make_case, make_cohort
from mammocad.synth.cohort import _case_seed, _cohort_plan


@pytest.mark.parametrize(("kwargs", "name"), [({"columns": 0}, "columns"), ({"thumb": 0}, "thumb")])
def test_contact_sheet_bad_layout_raises_clear_error(tmp_path, kwargs: dict, name: str) -> None:
    with pytest.raises(SynthesisError, match=name):
        contact_sheet([None], tmp_path / "sheet.png", **kwargs)  # type: ignore[list-item]
    assert not (tmp_path / "sheet.png").exists()


# --- cohort ----------------------------------------------------------------------------


def test_cohort_plan_is_balanced() -> None:
    plan = _cohort_plan(12, seed=3)
    combos = {(a, p) for _, _, a, p, _ in plan}
    assert len(combos) == 6
    patients = [pid for _, pid, _, _, _ in plan]
    assert len(set(patients)) == 6 and all(patients.count(p) == 2 for p in set(patients))
    assert [v for *_, v in plan[:2]] == ["CC", "MLO"]
    assert _cohort_plan(12, seed=3) == plan


def test_cohort_seeds_and_plan_are_pinned() -> None:
    # Integer hashing (SeedSequence) and permutations only: the same on every platform.
    assert [_case_seed(0, i) for i in range(3)] == [2968811710, 3964924996, 3141116543]
    assert _case_seed(7, 5) == 1002604896
    assert _cohort_plan(4, 0) == [
        ("syn00000_CC", "SYN00000", "both", "benign", "CC"),
        ("syn00000_MLO", "SYN00000", "both", "benign", "MLO"),
        ("syn00001_CC", "SYN00001", "mass", "malignant", "CC"),
        ("syn00001_MLO", "SYN00001", "mass", "malignant", "MLO"),
    ]


def test_cohort_files_round_trip(tmp_path) -> None:
    out = tmp_path / "cohort"
    table = make_cohort(4, out, seed=7, size=SIZE)
    assert list(table.columns[: len(LESION_COLUMNS)]) == list(LESION_COLUMNS)
    read = read_lesion_table(out / "lesions.csv", check_files=True)
    assert len(read) == len(table) >= 4
    assert set(read["pathology"]) == {"benign", "malignant"}
    assert (read["split"] == "").all() and (read["pixel_spacing_mm"] == SPACING).all()
    # the first image, re-made alone from its recorded seed, is the file's pixels and masks
    case_id, _, abnormality, pathology, view = _cohort_plan(4, 7)[0]
    first = read[read["lesion_id"].str.startswith(case_id + "_")]
    again = make_case(
        int(first["case_seed"].iloc[0]),
        abnormality=abnormality,
        pathology=pathology,
        size=SIZE,
        view=view,
        laterality=first["laterality"].iloc[0],
        case_id=case_id,
    )
    np.testing.assert_array_equal(read_mammogram(first["image_path"].iloc[0]).pixels, again.mammogram.pixels)
    remade = {lesion.lesion_id: lesion for lesion in again.lesions}
    assert set(remade) == set(first["lesion_id"])
    for _, row in read.iterrows():
        with Image.open(row["mask_path"]) as im:
            mask = np.asarray(im)
        if row["abnormality"] == "calcification":
            assert mask.dtype == np.uint16 and mask.max() == row["n_objects"]
        else:
            assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
        if row["lesion_id"] in remade:
            np.testing.assert_array_equal(
                mask.astype(np.int32),
                remade[row["lesion_id"]].labels * (1 if row["abnormality"] == "calcification" else 255),
            )
        rows, cols = np.nonzero(mask)
        assert np.hypot(rows - row["y"], cols - row["x"]).max() <= row["radius"]


def test_cohort_resume_keeps_finished_cases(tmp_path, monkeypatch) -> None:
    import mammocad.synth.cohort as cohort

    real = cohort.make_case
    calls: list[int] = []

    def interrupted(seed: int, **kw: object) -> SyntheticCase:
        calls.append(seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(seed, **kw)

    out = tmp_path / "cohort"
    monkeypatch.setattr(cohort, "make_case", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_cohort(3, out, seed=5, size=SIZE)
    assert not (out / "lesions.csv").exists()
    assert len(list((out / ".synth-progress").glob("*.json"))) == 1
    first_image = next((out / "images").glob("*.png"))
    stamp = first_image.stat().st_mtime_ns

    calls.clear()
    monkeypatch.setattr(cohort, "make_case", lambda seed, **kw: (calls.append(seed), real(seed, **kw))[1])
    resumed = make_cohort(3, out, seed=5, size=SIZE, resume=True)
    assert len(calls) == 2, "the finished case was drawn again"
    assert first_image.stat().st_mtime_ns == stamp
    assert not (out / ".synth-progress").exists(), "progress records are removed once the table is written"
    fresh = make_cohort(3, tmp_path / "fresh", seed=5, size=SIZE)
    cols = ["lesion_id", "patient_id", "abnormality", "pathology", "x", "y", "radius", "case_seed", "subtype"]
    assert resumed[cols].equals(fresh[cols])


def test_cohort_rejects_bad_options_before_writing(tmp_path) -> None:
    with pytest.raises(SynthesisError, match="unknown option"):
        make_cohort(1, tmp_path / "x", contrast=3)
    with pytest.raises(SynthesisError, match="noise"):
        make_cohort(1, tmp_path / "y", noise=-2)
    with pytest.raises(SynthesisError, match="view"):
        make_cohort(1, tmp_path / "z", view="CC")
    assert not any((tmp_path / name).exists() for name in "xyz"), "nothing is written before the checks"


# --- command line ----------------------------------------------------------------------


def test_cli_synth_writes_cohort_and_rejects_bad_n(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "synth"
    result = runner.invoke(app, ["synth", "--n", "4", "--out", str(out), "--size", "512", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(list((out / "images").glob("*.png"))) == 4
    assert len(read_lesion_table(out / "lesions.csv", check_files=True)) >= 4
    bad = runner.invoke(app, ["synth", "--n", "0", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 1
    assert "error:" in bad.output and "n (number of images)" in bad.output
