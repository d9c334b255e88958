"""Shape helpers and pixel hulls: the fast exact routines equal the reference computations they replace."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.spatial import ConvexHull, QhullError

from mammocad.features._shape import positive_bbox, within_distance
from mammocad.features.texture import glcm
from mammocad.segment._hull import (
    cluster_hull,
    mask_hull,
    unit_square_hull_areas,
    unit_square_hull_mask,
    unit_square_hull_perimeter,
)

_CORNERS = np.array([(-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5)])


def _square_hull(rows: np.ndarray, cols: np.ndarray) -> ConvexHull:
    """Reference: Qhull of every corner of every pixel."""
    pts = np.column_stack([rows, cols]).astype(float)
    return ConvexHull((pts[:, None, :] + _CORNERS[None]).reshape(-1, 2))


def _random_masks(seed: int, count: int, max_side: int = 24):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        h, w = rng.integers(1, max_side, 2)
        mask = rng.random((h, w)) < rng.uniform(0.02, 0.6)
        if mask.any():
            yield rng, mask


@pytest.mark.parametrize("seed", [0, 1])
def test_within_distance_equals_scipy_edt(seed):
    for rng, mask in _random_masks(seed, 300):
        radius = float(
            rng.choice([rng.uniform(0, 9), 2.0, math.sqrt(rng.integers(0, 80)), float(rng.integers(0, 9))])
        )
        expected = ndi.distance_transform_edt(~mask) <= radius
        assert np.array_equal(within_distance(mask, radius), expected), (mask, radius)


def test_within_distance_of_a_disc_ring():
    yy, xx = np.mgrid[:81, :81]
    mask = (yy - 40) ** 2 + (xx - 40) ** 2 <= 15**2
    expected = ndi.distance_transform_edt(~mask) <= 7.3
    assert np.array_equal(within_distance(mask, 7.3), expected)
    assert not within_distance(np.zeros((5, 5), bool), 3.0).any()


@pytest.mark.parametrize("seed", [2, 3])
def test_unit_square_hulls_equal_qhull_of_pixel_corners(seed):
    for _, mask in _random_masks(seed, 150, max_side=16):
        labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
        rr, cc = np.nonzero(labels)
        k = labels[rr, cc] - 1
        areas = unit_square_hull_areas(rr, cc, k, n)
        for j in range(n):
            sel = k == j
            assert areas[j] == pytest.approx(_square_hull(rr[sel], cc[sel]).volume, rel=1e-12)
        # the whole set as one object: perimeter and the pixels whose centres it covers
        hull = mask_hull(mask)
        ref = _square_hull(rr, cc)
        assert unit_square_hull_perimeter(hull) == pytest.approx(ref.area, rel=1e-12)
        yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
        pts = np.column_stack([yy.ravel(), xx.ravel()]).astype(float)
        inside = np.all(pts @ ref.equations[:, :2].T + ref.equations[:, 2] <= 1e-9, axis=1)
        assert np.array_equal(unit_square_hull_mask(hull, mask.shape), inside.reshape(mask.shape))
        assert np.array_equal(cluster_hull(mask), inside.reshape(mask.shape))


def test_cluster_hull_holds_its_pixels_and_stays_in_their_box():
    for _, mask in _random_masks(4, 200, max_side=20):
        hull = cluster_hull(mask)
        assert hull[mask].all()
        rows, cols = np.nonzero(hull)
        r, c = np.nonzero(mask)
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (r.min(), r.max(), c.min(), c.max())


def test_hull_of_collinear_and_single_pixels():
    line = np.zeros((9, 9), bool)
    line[2, 1:8] = True
    hull = mask_hull(line)
    assert unit_square_hull_perimeter(hull) == pytest.approx(2 * 7 + 2)
    assert unit_square_hull_areas(*np.nonzero(line), np.zeros(7, int), 1)[0] == pytest.approx(7.0)
    dot = np.zeros((3, 3), bool)
    dot[1, 1] = True
    assert unit_square_hull_areas(np.array([1]), np.array([1]), np.array([0]), 1)[0] == 1.0
    assert unit_square_hull_mask(mask_hull(dot), dot.shape).sum() == 1
    assert cluster_hull(dot).sum() == 1 and cluster_hull(line).sum() == 7
    with pytest.raises(QhullError):  # the reference cannot do it; the row hull can
        ConvexHull(np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0]]))


def test_positive_bbox_ignores_negative_labels():
    labels = np.zeros((10, 12), np.int32)
    labels[0, 0] = -3
    labels[4:6, 7] = 2
    assert positive_bbox(labels, 1) == (slice(3, 7), slice(6, 9))
    assert positive_bbox(np.zeros((4, 4), np.int32), 2) is None
    assert positive_bbox(labels > 0, 0) == (slice(4, 6), slice(7, 8))


def test_glcm_offset_wider_than_the_region_has_no_pairs():
    q = np.array([[1, 2], [2, 1]])
    assert glcm(q, levels=2, distance=3).sum() == 0
    assert glcm(q, levels=2, distance=1).sum() == 2 * (2 + 1 + 2 + 1)
