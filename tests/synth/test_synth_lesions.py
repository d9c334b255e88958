"""Lesions: calcification clusters and masses look as described, and masks are what was drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _synth_cases import EIGHT, SIZE, SPACING, calcs_of, case, ring
from scipy import ndimage as ndi

from mammocad.synth import make_case

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
