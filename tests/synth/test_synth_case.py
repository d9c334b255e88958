"""make_case: determinism (pinned), the case as a value, laterality, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from _synth_cases import KINDS, SIZE, SPACING, case

from mammocad.errors import MammocadError, SynthesisError
from mammocad.synth import CASE_ABNORMALITIES, make_case, make_cohort

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


# Fingerprints of three small cases, measured on the code of mammocad 0.1 (the single-module
# synth.py); the malignant mass's since issue 14 (visible spicules). They catch any change in what a seed draws (an extra or reordered random draw,
# another constant). Exact hashes of the pixels are not pinned: NumPy's float32 exp/cos take
# CPU-specific SIMD paths, and on a CPU without AVX-512 the same case differs in one pixel by
# one grey level (measured); scipy's expit for the hand-written sigmoid did the same to 4 of
# 12.6 million pixels. So the pixel sums carry a small tolerance; the lesion geometry is exact.
PINNED = [
    (
        21,
        {"abnormality": "calcification", "pathology": "malignant", "view": "CC"},
        ("R", 0.460274091, 8077401, 441622),
        [("calcification", "pleomorphic", 19, 51, 50.5, 139.0, 24.712, 37.521501)],
    ),
    (
        22,
        {"abnormality": "both", "pathology": "benign", "view": "MLO", "laterality": "L"},
        ("L", 0.423288002, 12962036, 552685),
        [
            ("mass", "circumscribed", 1, 2086, 256.0, 117.5, 28.316, 23.739682),
            ("calcification", "round", 4, 47, 251.0, 273.5, 20.181, 35.745584),
        ],
    ),
    (
        23,
        {"abnormality": "mass", "pathology": "malignant", "view": "MLO"},
        ("R", 0.927784852, 13079367, 587519),
        [("mass", "spiculated", 1, 3389, 83.5, 202.5, 61.126, 24.106129)],
    ),
]


@pytest.mark.parametrize(("seed", "kwargs", "image", "lesions"), PINNED, ids=["calc", "both-L", "mass"])
def test_seed_draws_the_pinned_case(seed: int, kwargs: dict, image: tuple, lesions: list) -> None:
    c = make_case(seed, size=384, pixel_spacing_mm=0.15, **kwargs)
    laterality, density, pixel_sum, roughness = image
    pixels = c.mammogram.pixels.astype(np.int64)
    assert (c.mammogram.laterality, round(c.density, 9)) == (laterality, density)
    assert abs(int(pixels.sum()) - pixel_sum) <= 64
    # the sum of horizontal steps changes with the blur and the noise, which keep the sum
    assert abs(int(np.abs(np.diff(pixels, axis=1)).sum()) - roughness) <= 64
    got = [
        (
            lesion.abnormality,
            lesion.subtype,
            lesion.count,
            int(lesion.mask.sum()),
            round(lesion.x, 3),
            round(lesion.y, 3),
            round(lesion.radius, 3),
            round(lesion.contrast, 6),
        )
        for lesion in c.lesions
    ]
    assert got == lesions


def test_case_abnormalities_are_what_one_case_can_hold() -> None:
    assert CASE_ABNORMALITIES == ("calcification", "mass", "both")
    for abnormality in CASE_ABNORMALITIES:
        assert case(3, abnormality, "benign").lesions


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
