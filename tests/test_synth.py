"""Synthetic mammograms: determinism, exact ground truth, lesion appearance, cohort files, CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.datasets import LESION_COLUMNS, read_lesion_table
from mammocad.errors import MammocadError, SynthesisError
from mammocad.io import read_mammogram
from mammocad.synth import SyntheticCase, _cohort_plan, contact_sheet, make_case, make_cohort

SIZE = 512
SPACING = 0.1
EIGHT = np.ones((3, 3), dtype=bool)
KINDS = [(a, p) for a in ("calcification", "mass", "both") for p in ("benign", "malignant")]

_cache: dict[tuple, SyntheticCase] = {}


def case(seed: int, abnormality: str, pathology: str, **kw: object) -> SyntheticCase:
    key = (seed, abnormality, pathology, tuple(sorted(kw.items())))
    if key not in _cache:
        _cache[key] = make_case(
            seed, abnormality=abnormality, pathology=pathology, size=SIZE, pixel_spacing_mm=SPACING, **kw
        )
    return _cache[key]


def calcs_of(c: SyntheticCase):
    return [lesion for lesion in c.lesions if lesion.abnormality == "calcification"]


def ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    grown_in = ndi.binary_dilation(mask, EIGHT, iterations=inner)
    grown_out = ndi.binary_dilation(mask, EIGHT, iterations=outer)
    return grown_out & ~grown_in


# --- determinism -----------------------------------------------------------------------


def test_same_seed_same_case_and_different_seed_differs() -> None:
    a = make_case(11, abnormality="both", pathology="malignant", size=SIZE)
    b = make_case(11, abnormality="both", pathology="malignant", size=SIZE)
    np.testing.assert_array_equal(a.mammogram.pixels, b.mammogram.pixels)
    np.testing.assert_array_equal(a.breast_mask, b.breast_mask)
    assert len(a.lesions) == len(b.lesions) == 2
    for la, lb in zip(a.lesions, b.lesions, strict=True):
        np.testing.assert_array_equal(la.labels, lb.labels)
        assert (la.x, la.y, la.radius, la.lesion_id) == (lb.x, lb.y, lb.radius, lb.lesion_id)
    c = make_case(12, abnormality="both", pathology="malignant", size=SIZE)
    assert not np.array_equal(a.mammogram.pixels, c.mammogram.pixels)
    assert not np.array_equal(a.lesions[1].labels, c.lesions[1].labels)


# --- the case as a value ---------------------------------------------------------------


@pytest.mark.parametrize(("abnormality", "pathology"), KINDS)
def test_case_values_and_lesions_inside_breast(abnormality: str, pathology: str) -> None:
    c = case(3, abnormality, pathology, view="MLO" if pathology == "malignant" else "CC")
    mg = c.mammogram
    assert mg.pixels.dtype == np.uint8 and mg.shape == (SIZE, SIZE)
    assert mg.pixel_spacing_mm == SPACING and mg.source is None and mg.laterality in ("L", "R")
    assert c.breast_mask.dtype == bool and 0.2 < c.breast_mask.mean() < 0.8
    # background dark, breast brighter
    assert np.median(mg.pixels[~c.breast_mask]) < 30 < np.median(mg.pixels[c.breast_mask])
    kinds = sorted(lesion.abnormality for lesion in c.lesions)
    assert kinds == (["calcification", "mass"] if abnormality == "both" else [abnormality])
    for lesion in c.lesions:
        assert lesion.pathology == pathology
        assert lesion.labels.dtype == np.int32 and lesion.mask.dtype == bool
        np.testing.assert_array_equal(lesion.mask, lesion.labels > 0)
        assert lesion.mask.any()
        assert not (lesion.mask & ~c.breast_mask).any(), "lesion outside the breast"
        assert not (lesion.mask & c.pectoral_mask).any(), "lesion on the pectoral muscle"
        rows, cols = np.nonzero(lesion.mask)
        assert np.hypot(rows - lesion.y, cols - lesion.x).max() <= lesion.radius
        assert lesion.roi.radius == lesion.radius
    if len(c.lesions) == 2:
        assert not (c.lesions[0].mask & c.lesions[1].mask).any()


def test_pectoral_only_on_mlo() -> None:
    assert not case(3, "mass", "benign", view="CC").pectoral_mask.any()
    mlo = case(3, "mass", "malignant", view="MLO")
    assert mlo.pectoral_mask.any() and not (mlo.pectoral_mask & ~mlo.breast_mask).any()


def test_laterality_puts_chest_wall_on_the_right_for_left_breast() -> None:
    left = make_case(5, abnormality="mass", pathology="benign", size=SIZE, laterality="L")
    right = make_case(5, abnormality="mass", pathology="benign", size=SIZE, laterality="R")
    assert left.breast_mask[:, -1].sum() > 0.3 * SIZE and left.breast_mask[:, 0].sum() == 0
    np.testing.assert_array_equal(left.breast_mask, right.breast_mask[:, ::-1])
    assert left.lesions[0].x == pytest.approx(SIZE - 1 - right.lesions[0].x)


# --- calcifications --------------------------------------------------------------------


def _calc_stats(lesion, spacing: float):
    n = lesion.count
    diam, extent = [], []
    for k in range(1, n + 1):
        obj = lesion.labels == k
        assert obj.any(), f"label {k} missing: labels must be 1..n"
        _, parts = ndi.label(obj, EIGHT)
        assert parts == 1, f"calcification {k} is not one connected object"
        points = np.argwhere(obj).astype(float)
        diam.append(2 * math.sqrt(obj.sum() / math.pi) * spacing)
        feret = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)).max()
        extent.append((feret + 1) * spacing)
    return np.array(diam), np.array(extent)


@pytest.mark.parametrize("pathology", ["benign", "malignant"])
@pytest.mark.parametrize("seed", [1, 2])
def test_calcification_counts_sizes_and_visibility(pathology: str, seed: int) -> None:
    c = case(seed, "calcification", pathology)
    (lesion,) = calcs_of(c)
    low, high = (3, 8) if pathology == "benign" else (8, 30)
    assert low <= lesion.count <= high
    assert lesion.labels.max() == lesion.count and lesion.subtype in ("round", "pleomorphic")
    diam, extent = _calc_stats(lesion, SPACING)
    assert diam.min() >= 0.1 and diam.max() <= 1.0, diam
    assert extent.max() <= 1.1, extent
    # drawn brighter than the tissue just around it, on average over the cluster
    px = c.mammogram.pixels.astype(float)
    excess = []
    for k in range(1, lesion.count + 1):
        obj = lesion.labels == k
        excess.append(px[obj].mean() - px[ring(obj, 2, 4) & ~lesion.mask].mean())
    assert np.mean(excess) > 4.0, excess
    assert np.mean(np.array(excess) > 0) >= 0.75


def test_benign_clusters_larger_more_uniform_sparser_than_malignant() -> None:
    benign = [calcs_of(case(s, "calcification", "benign"))[0] for s in (1, 2)]
    malignant = [calcs_of(case(s, "calcification", "malignant"))[0] for s in (1, 2)]
    for b, m in zip(benign, malignant, strict=True):
        db, _ = _calc_stats(b, SPACING)
        dm, _ = _calc_stats(m, SPACING)
        assert db.mean() > dm.mean()
        assert db.std() / db.mean() < dm.std() / dm.mean()
        # objects per unit ROI area
        assert b.count / b.radius**2 < m.count / m.radius**2


def test_pixel_spacing_keeps_physical_size() -> None:
    c = make_case(4, abnormality="calcification", pathology="benign", size=SIZE, pixel_spacing_mm=0.07)
    diam, _ = _calc_stats(c.lesions[0], 0.07)
    assert 0.3 <= diam.mean() <= 1.0


# --- ground truth is what was drawn ----------------------------------------------------


@pytest.mark.parametrize("pathology", ["benign", "malignant"])
def test_calcification_mask_is_exactly_what_was_drawn(pathology: str) -> None:
    clean = {"noise": 0.0, "psf_sigma_mm": 0.0}
    drawn = make_case(8, abnormality="calcification", pathology=pathology, size=SIZE, **clean)
    blank = make_case(
        8, abnormality="calcification", pathology=pathology, size=SIZE, calc_contrast=0.0, **clean
    )
    (lesion,) = drawn.lesions
    np.testing.assert_array_equal(lesion.labels, blank.lesions[0].labels)
    diff = drawn.mammogram.pixels.astype(int) - blank.mammogram.pixels.astype(int)
    assert (diff[lesion.mask] > 0).all(), "a mask pixel was not drawn"
    # partially covered pixels (< 50 %) may be drawn, but only next to the mask
    assert not ((diff > 0) & ~ndi.binary_dilation(lesion.mask, EIGHT)).any()
    assert (diff >= 0).all()


def test_mass_mask_matches_the_drawn_density() -> None:
    clean = {"noise": 0.0, "psf_sigma_mm": 0.0}
    for pathology in ("benign", "malignant"):
        drawn = make_case(9, abnormality="mass", pathology=pathology, size=SIZE, **clean)
        blank = make_case(9, abnormality="mass", pathology=pathology, size=SIZE, mass_contrast=0.0, **clean)
        (lesion,) = drawn.lesions
        diff = drawn.mammogram.pixels.astype(int) - blank.mammogram.pixels.astype(int)
        assert (diff[lesion.mask] > 0).mean() > 0.99
        assert diff[lesion.mask].mean() > 2 * diff[ring(lesion.mask, 3, 8)].mean()
        _, parts = ndi.label(lesion.mask, EIGHT)
        assert parts == 1


def _compactness(mask: np.ndarray) -> float:
    perimeter = (mask & ~ndi.binary_erosion(mask)).sum()
    return perimeter**2 / (4 * math.pi * mask.sum())


def test_malignant_masses_more_irregular_and_visible_masses() -> None:
    for seed in (1, 2):
        b = case(seed, "mass", "benign").lesions[0]
        m = case(seed, "mass", "malignant").lesions[0]
        assert b.subtype == "circumscribed" and m.subtype in ("spiculated", "ill-defined")
        assert _compactness(m.mask) > _compactness(b.mask)
        for c in (case(seed, "mass", "benign"), case(seed, "mass", "malignant")):
            px = c.mammogram.pixels.astype(float)
            lesion = c.lesions[0]
            outside = ring(lesion.mask, 10, 25) & c.breast_mask
            assert px[lesion.mask].mean() > px[outside].mean() - 5  # low contrast, may sit in dense tissue


# --- bad arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"abnormality": "cyst"}, "abnormality"),
        ({"pathology": "unknown"}, "pathology"),
        ({"view": "ML"}, "view"),
        ({"size": 100}, "size"),
        ({"pixel_spacing_mm": 0.0}, "pixel_spacing_mm"),
        ({"pixel_spacing_mm": float("nan")}, "pixel_spacing_mm"),
        ({"noise": -1.0}, "noise"),
        ({"density": 1.5}, "density"),
        ({"laterality": "X"}, "laterality"),
    ],
)
def test_bad_arguments_raise_clear_error(kwargs: dict, name: str) -> None:
    with pytest.raises(SynthesisError, match=name):
        make_case(0, **kwargs)


def test_bad_seed_and_n() -> None:
    with pytest.raises(MammocadError, match="seed"):
        make_case(-1)
    with pytest.raises(SynthesisError, match="n"):
        make_cohort(0, "unused")


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
    import mammocad.synth as synth

    real = synth.make_case
    calls: list[int] = []

    def interrupted(seed: int, **kw: object) -> SyntheticCase:
        calls.append(seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(seed, **kw)

    out = tmp_path / "cohort"
    monkeypatch.setattr(synth, "make_case", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_cohort(3, out, seed=5, size=SIZE)
    assert not (out / "lesions.csv").exists()
    assert len(list((out / ".synth-progress").glob("*.json"))) == 1
    first_image = next((out / "images").glob("*.png"))
    stamp = first_image.stat().st_mtime_ns

    calls.clear()
    monkeypatch.setattr(synth, "make_case", lambda seed, **kw: (calls.append(seed), real(seed, **kw))[1])
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
