"""Mass features: equal to scikit-image regionprops; defined values on degenerate input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.measure import regionprops

from mammocad.errors import FeatureError
from mammocad.features import MASS_FEATURES, mass_features
from mammocad.features.mass import ring_width_px
from mammocad.synth import make_case


def _blob(shape=(96, 96), centre=(48.0, 50.0), axes=(22.0, 14.0), angle=0.4, lobes=0.15):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    dy, dx = yy - centre[0], xx - centre[1]
    u = dx * math.cos(angle) + dy * math.sin(angle)
    v = -dx * math.sin(angle) + dy * math.cos(angle)
    theta = np.arctan2(v, u)
    r = np.hypot(u / axes[0], v / axes[1])
    return r <= 1 + lobes * np.cos(5 * theta)


@pytest.fixture(scope="module")
def synthetic_mass():
    case = make_case(3, abnormality="mass", pathology="malignant", size=512, pixel_spacing_mm=0.2)
    lesion = case.lesions[0]
    return case.mammogram.pixels, lesion.mask, case.mammogram.pixel_spacing_mm


def test_shape_features_equal_regionprops(synthetic_mass):
    image, mask, s = synthetic_mass
    f = mass_features(image, mask, pixel_spacing_mm=s)
    p = regionprops(mask.astype(np.uint8))[0]
    assert f["mass_area_mm2"] == pytest.approx(p.area * s * s, rel=1e-12)
    assert f["mass_perimeter_mm"] == pytest.approx(p.perimeter_crofton * s, rel=1e-12)
    assert f["mass_solidity"] == pytest.approx(p.solidity, rel=1e-12)
    assert f["mass_elongation"] == pytest.approx(p.eccentricity, rel=1e-12)
    assert f["mass_axis_ratio"] == pytest.approx(p.axis_minor_length / p.axis_major_length, rel=1e-12)
    assert 0 < f["mass_convexity"] <= 1
    circ = min(1.0, 4 * math.pi * p.area / p.perimeter_crofton**2)
    assert f["mass_circularity"] == pytest.approx(circ, rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_convex_area_equals_skimage_convex_hull_image(seed):
    from skimage.morphology import convex_hull_image

    from mammocad.segment._hull import convex_area_of, mask_hull

    def convex_area_px(mask):
        return convex_area_of(mask_hull(mask))

    rng = np.random.default_rng(seed)
    mask = np.zeros((40, 40), bool)
    mask[rng.integers(5, 35, 30), rng.integers(5, 35, 30)] = True
    assert convex_area_px(mask) == convex_hull_image(mask).sum()
    blob = _blob(angle=seed, lobes=0.1 * seed)
    assert convex_area_px(blob) == convex_hull_image(blob).sum()


def test_intensity_features_by_hand(synthetic_mass):
    image, mask, s = synthetic_mass
    f = mass_features(image, mask, pixel_spacing_mm=s)
    grey = image[mask].astype(float)
    assert f["mass_mean_grey"] == pytest.approx(grey.mean())
    assert f["mass_max_grey"] == grey.max()
    assert f["mass_heterogeneity"] == pytest.approx(grey.std() / grey.mean())
    from scipy import ndimage as ndi

    ring = (ndi.distance_transform_edt(~mask) <= ring_width_px(mask.sum())) & ~mask
    b = image[ring].astype(float).mean()
    assert f["mass_grey_relativity"] == pytest.approx((grey.mean() - b) / (grey.mean() + b))
    assert f["mass_volume_ratio"] == pytest.approx(
        np.clip(grey - b, 0, None).sum() / (grey.size * (grey.max() - b))
    )
    assert f["mass_grey_relativity"] > 0  # the synthetic mass is brighter than its surroundings


def test_returns_all_26_in_registry_order(synthetic_mass):
    image, mask, s = synthetic_mass
    f = mass_features(image, mask, pixel_spacing_mm=s)
    assert list(f) == list(MASS_FEATURES)
    assert all(math.isfinite(v) for v in f.values())


def test_disc_is_round_and_spiculated_blob_is_not():
    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 48) ** 2 + (xx - 48) ** 2 <= 30**2
    image = np.full((96, 96), 50.0)
    image[disc] = 150
    d = mass_features(image, disc, pixel_spacing_mm=0.2)
    assert d["mass_axis_ratio"] == pytest.approx(1.0, abs=1e-9)
    assert d["mass_convexity"] == 1.0  # a convex shape
    assert d["mass_circularity"] > 0.95 and d["mass_solidity"] > 0.97 and d["mass_spiculation"] < 0.02
    star = _blob(lobes=0.45)
    b = mass_features(image, star, pixel_spacing_mm=0.2)
    assert b["mass_spiculation"] > 5 * d["mass_spiculation"]
    assert b["mass_solidity"] < d["mass_solidity"] and b["mass_convexity"] < d["mass_convexity"]


def test_empty_mask_gives_zeros():
    f = mass_features(np.ones((10, 10)), np.zeros((10, 10), bool), pixel_spacing_mm=0.2)
    assert f == dict.fromkeys(MASS_FEATURES, 0.0)


def test_one_pixel_mask_is_defined():
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    image = np.full((9, 9), 10.0)
    image[4, 4] = 30
    f = mass_features(image, mask, pixel_spacing_mm=0.5)
    assert all(math.isfinite(v) for v in f.values())
    assert f["mass_area_mm2"] == 0.25
    assert f["mass_axis_ratio"] == 1.0 and f["mass_solidity"] == 1.0 and f["mass_heterogeneity"] == 0.0
    assert f["mass_grey_relativity"] == pytest.approx(0.5)
    assert f["mass_glcm_energy"] == 0.0  # no pixel pairs: texture is 0


def test_constant_image_is_defined():
    mask = _blob()
    f = mass_features(np.full(mask.shape, 77, np.uint8), mask, pixel_spacing_mm=0.2)
    assert all(math.isfinite(v) for v in f.values())
    assert (
        f["mass_heterogeneity"] == 0.0 and f["mass_volume_ratio"] == 0.0 and f["mass_grey_relativity"] == 0.0
    )
    assert f["mass_glcm_energy"] == 1.0 and f["mass_glcm_correlation"] == 1.0


def test_black_image_is_defined():
    mask = _blob()
    f = mass_features(np.zeros(mask.shape), mask, pixel_spacing_mm=0.2)
    assert all(math.isfinite(v) for v in f.values())
    assert f["mass_grey_relativity"] == 0.0 and f["mass_heterogeneity"] == 0.0


def test_mask_filling_the_image_uses_itself_as_background():
    mask = np.ones((12, 12), bool)
    image = np.arange(144, dtype=float).reshape(12, 12)
    f = mass_features(image, mask, pixel_spacing_mm=0.2)
    assert f["mass_grey_relativity"] == 0.0 and math.isfinite(f["mass_volume_ratio"])


def test_bad_input_is_a_feature_error():
    mask = _blob()
    image = np.zeros(mask.shape)
    with pytest.raises(FeatureError, match="shape"):
        mass_features(image[:-1], mask, pixel_spacing_mm=0.2)
    for spacing in (0, -1, float("nan"), None, "x"):
        with pytest.raises(FeatureError, match="pixel_spacing_mm"):
            mass_features(image, mask, pixel_spacing_mm=spacing)
    with pytest.raises(FeatureError, match="boolean"):
        mass_features(image, mask * 3, pixel_spacing_mm=0.2)
    nan_image = image.copy()
    nan_image[48, 50] = np.nan
    with pytest.raises(FeatureError, match="NaN"):
        mass_features(nan_image, mask, pixel_spacing_mm=0.2)
    with pytest.raises(FeatureError, match="2-D"):
        mass_features(np.zeros((3, 4, 4)), np.zeros((3, 4, 4), bool), pixel_spacing_mm=0.2)


def test_input_not_modified():
    mask = _blob()
    image = np.random.default_rng(0).normal(100, 10, mask.shape)
    before = image.copy(), mask.copy()
    mass_features(image, mask, pixel_spacing_mm=0.2)
    np.testing.assert_array_equal(image, before[0])
    np.testing.assert_array_equal(mask, before[1])
