"""GLCM texture: equal to pyradiomics / scikit-image on the same quantised regions."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest

from mammocad.errors import FeatureError
from mammocad.features import mass_features
from mammocad.features.registry import feature_specs
from mammocad.features.texture import GLCM_LEVELS, CoOccurrence, glcm, glcm_distance, quantise

PREFIX = "mass_glcm_"
TEXTURE = [f for f in feature_specs("extended", "mass") if f.name.startswith(PREFIX)]
# The paper's 13 texture features, by name without the prefix.
GLCM_FEATURES = tuple(f.name.removeprefix(PREFIX) for f in TEXTURE if f.feature_set == "paper")


def glcm_features(q: np.ndarray, *, levels: int = GLCM_LEVELS, distance: int = 1) -> dict[str, float]:
    """The registry's texture features of a quantised image (each reads only ``.glcm``)."""
    region = SimpleNamespace(glcm=CoOccurrence.of(q, levels=levels, distance=distance))
    return {f.name.removeprefix(PREFIX): f.compute(region) for f in TEXTURE}


# Our name → pyradiomics GLCM feature computing the same definition.
PYRADIOMICS_NAMES = {
    "entropy": "JointEntropy",
    "inverse_difference": "Id",
    "difference_entropy": "DifferenceEntropy",
    "correlation": "Correlation",
    "difference_variance": "DifferenceVariance",
    "sum_average": "SumAverage",
    "sum_variance": "ClusterTendency",
    "energy": "JointEnergy",
    "imc1": "Imc1",
    "imc2": "Imc2",
    "contrast": "Contrast",
    "inverse_difference_moment": "Idm",
    "cluster_shade": "ClusterShade",
}


def _region(seed: int, shape: tuple[int, int] = (48, 56)) -> tuple[np.ndarray, np.ndarray]:
    """A noisy ramp and an irregular (non-convex, holed) mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    cy, cx = shape[0] / 2, shape[1] / 2
    angle = np.arctan2(yy - cy, xx - cx)
    radius = 14 + 5 * np.sin(3 * angle + seed)
    mask = np.hypot(yy - cy, xx - cx) <= radius
    mask[int(cy) - 1 : int(cy) + 2, int(cx) - 1 : int(cx) + 2] = False
    image = rng.normal(120, 25, shape) + 0.8 * xx - 0.5 * yy
    return image, mask


def _pyradiomics(q: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    sitk = pytest.importorskip("SimpleITK")
    radiomics_glcm = pytest.importorskip("radiomics.glcm")
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image = sitk.GetImageFromArray(q[None].astype(np.float64))
    roi = sitk.GetImageFromArray(mask[None].astype(np.uint8))
    # binWidth=1 on levels 1…N keeps our quantisation; force2D + symmetric GLCM,
    # distance 1, no weighting: per-direction features averaged, as ours.
    ext = radiomics_glcm.RadiomicsGLCM(
        image, roi, binWidth=1, force2D=True, force2Ddimension=0, distances=[1], symmetricalGLCM=True
    )
    ext.enableAllFeatures()
    result = ext.execute()
    return {ours: float(result[theirs]) for ours, theirs in PYRADIOMICS_NAMES.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_glcm_features_equal_pyradiomics(seed):
    image, mask = _region(seed)
    q = quantise(image, mask)
    ours = glcm_features(q, distance=1)
    theirs = _pyradiomics(q, mask)
    for name in GLCM_FEATURES:
        assert ours[name] == pytest.approx(theirs[name], rel=1e-6, abs=1e-12), name


def test_mass_features_texture_is_the_glcm_of_the_quantised_mass():
    image, mask = _region(4)
    f = mass_features(image, mask, pixel_spacing_mm=0.2)  # distance 1
    ours = glcm_features(quantise(image, mask))
    assert len(GLCM_FEATURES) == 13
    for name in GLCM_FEATURES:
        assert f[PREFIX + name] == ours[name], name


def test_constant_region_equals_pyradiomics_conventions():
    mask = np.zeros((20, 20), bool)
    mask[4:15, 3:12] = True
    q = quantise(np.full((20, 20), 7.0), mask)
    assert set(np.unique(q[mask])) == {1}
    ours = glcm_features(q)
    theirs = _pyradiomics(q, mask)
    for name in GLCM_FEATURES:
        assert ours[name] == pytest.approx(theirs[name], abs=1e-12), name
    assert ours["energy"] == 1.0 and ours["correlation"] == 1.0
    assert ours["entropy"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("distance", [1, 2, 3])
def test_glcm_counts_equal_skimage(distance):
    from skimage.feature import graycomatrix

    image, mask = _region(5)
    q = quantise(image, mask)
    ours = glcm(q, distance=distance)
    # skimage's angle a pairs (r, c) with (r + d·sin a, c + d·cos a), rows down: our 45°
    # (up-right) is its 3π/4 and our 135° its π/4 (symmetric matrices). Level 0 = outside, dropped.
    ref = graycomatrix(
        q.astype(np.uint8),
        [distance],
        [0, 3 * np.pi / 4, np.pi / 2, np.pi / 4],
        levels=GLCM_LEVELS + 1,
        symmetric=True,
    )[1:, 1:, 0, :]
    ref = np.moveaxis(ref, -1, 0).astype(float)
    # Beyond 1 pixel skimage rounds the diagonal offset to Euclidean length d (e.g. (1, 1) for
    # d = 2); ours is (d, d), pyradiomics' Chebyshev convention: compare the axis directions only.
    directions = [0, 1, 2, 3] if distance == 1 else [0, 2]
    np.testing.assert_array_equal(ours[directions], ref[directions])


def test_quantise_bins_and_range():
    image = np.arange(64, dtype=float).reshape(8, 8)
    mask = np.ones((8, 8), bool)
    mask[0, 0] = False
    q = quantise(image, mask, levels=4)
    assert q[0, 0] == 0
    assert q[mask].min() == 1 and q[mask].max() == 4
    # equal-width bins between min (1) and max (63) of the mask
    np.testing.assert_array_equal(np.bincount(q[mask])[1:], [16, 15, 16, 16])


def test_quantise_is_gain_invariant():
    image, mask = _region(3)
    np.testing.assert_array_equal(quantise(image, mask), quantise(2.5 * image - 40, mask))


def test_no_pairs_gives_zeros_not_nan():
    q = np.zeros((5, 5), int)
    q[2, 2] = 3
    values = glcm_features(q)
    assert values == dict.fromkeys(GLCM_FEATURES, 0.0)


def test_single_direction_pairs_average_over_directions_with_pairs():
    # A horizontal two-pixel region has pairs only at 0°; pyradiomics drops empty directions too.
    q = np.zeros((3, 4), int)
    q[1, 1], q[1, 2] = 1, 2
    values = glcm_features(q, levels=2)
    assert values["contrast"] == pytest.approx(1.0)
    assert values["energy"] == pytest.approx(0.5)


def test_quantise_rejects_mismatch():
    with pytest.raises(FeatureError, match="shape"):
        quantise(np.zeros((3, 3)), np.zeros((3, 4), bool))
    with pytest.raises(FeatureError, match="levels"):
        quantise(np.zeros((3, 3)), np.ones((3, 3), bool), levels=0)


@pytest.mark.parametrize(("spacing", "expected"), [(None, 1), (0.2, 1), (0.5, 1), (0.1, 2), (0.05, 4)])
def test_glcm_distance_keeps_two_tenths_of_a_millimetre(spacing, expected):
    assert glcm_distance(spacing) == expected


@pytest.mark.parametrize(
    ("q", "kwargs", "message"),
    [
        (np.full((3, 3), 5), {"levels": 4}, "values must lie in"),
        (np.full((3, 3), -1), {"levels": 4}, "values must lie in"),
        (np.ones((3, 3)), {"levels": 4}, "integer array"),
        (np.ones(9, int), {"levels": 4}, "2-D"),
        (np.ones((3, 3), int), {"levels": 4, "distance": 0}, "distance"),
    ],
)
def test_glcm_rejects_bad_input(q, kwargs, message):
    with pytest.raises(FeatureError, match=message):
        glcm(q, **kwargs)


@pytest.mark.parametrize("spacing", [0.0, -0.1, float("nan")])
def test_glcm_distance_rejects_non_positive_spacing(spacing):
    with pytest.raises(FeatureError, match="pixel_spacing_mm"):
        glcm_distance(spacing)
