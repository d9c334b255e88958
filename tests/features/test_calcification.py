"""Calcification features: by hand on tiny label images, regionprops on synthetic clusters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.measure import regionprops

from mammocad.errors import FeatureError
from mammocad.features import CALCIFICATION_FEATURES, calcification_features
from mammocad.io import ROI
from mammocad.synth import make_case


def _two_squares():
    image = np.full((30, 30), 100.0)
    labels = np.zeros((30, 30), np.int32)
    labels[5:7, 5:7] = 1  # 4 px
    labels[20:24, 20:24] = 2  # 16 px
    image[labels == 1] = 200
    image[labels == 2] = 150
    return image, labels


def test_two_squares_by_hand():
    image, labels = _two_squares()
    f = calcification_features(image, labels, pixel_spacing_mm=0.1, roi=ROI(15, 15, 14))
    assert list(f) == list(CALCIFICATION_FEATURES)
    assert f["calc_count"] == 2
    assert f["calc_mean_area_mm2"] == pytest.approx((4 + 16) / 2 * 0.01)
    d = 2 * np.sqrt(np.array([4, 16]) / math.pi) * 0.1
    assert f["calc_mean_diameter_mm"] == pytest.approx(d.mean())
    assert f["calc_punctate_proportion"] == pytest.approx(1.0)  # both < 0.5 mm
    assert f["calc_linear_proportion"] == 0.0
    assert f["calc_area_cv"] == pytest.approx(np.std([4, 16]) / 10)
    assert f["calc_mean_solidity"] == 1.0
    # centroids (5.5, 5.5) and (21.5, 21.5): RMS distance from the mean = half their distance
    assert f["calc_cluster_spread_mm"] == pytest.approx(0.5 * math.hypot(16, 16) * 0.1)
    assert f["calc_mean_grey"] == pytest.approx((4 * 200 + 16 * 150) / 20)
    assert f["calc_contrast"] == pytest.approx((4 * 200 + 16 * 150) / 20 - 100)
    # hull of both squares: excess brightness lies only in the calcifications
    assert f["calc_volume_ratio"] == pytest.approx(1.0)
    assert f["calc_density_per_cm2"] > 0


def test_per_calcification_values_equal_regionprops():
    case = make_case(11, abnormality="calcification", pathology="malignant", size=512, pixel_spacing_mm=0.1)
    lesion = case.lesions[0]
    image, labels = case.mammogram.pixels, lesion.labels
    roi = ROI(lesion.x, lesion.y, lesion.radius)
    f = calcification_features(image, labels, pixel_spacing_mm=0.1, roi=roi)
    props = regionprops(labels)
    assert f["calc_count"] == len(props) > 1
    areas = np.array([p.area for p in props], float)
    assert f["calc_mean_area_mm2"] == pytest.approx(areas.mean() * 0.01, rel=1e-12)
    assert f["calc_mean_diameter_mm"] == pytest.approx(
        np.mean([p.equivalent_diameter_area for p in props]) * 0.1
    )
    # solidity uses the hull of the pixels as unit squares (regionprops: of the pixel centres)
    assert f["calc_mean_solidity"] == pytest.approx(np.mean([p.solidity for p in props]), rel=0.1)
    circ = [min(1.0, 4 * math.pi * p.area / p.perimeter_crofton**2) for p in props]
    assert f["calc_mean_circularity"] == pytest.approx(np.mean(circ), rel=1e-12)
    grey = image[labels > 0].astype(float)
    assert f["calc_mean_grey"] == pytest.approx(grey.mean())
    assert f["calc_contrast"] > 0
    assert 0 < f["calc_volume_ratio"] <= 1
    assert all(math.isfinite(v) for v in f.values())


def test_linear_and_punctate_classification():
    labels = np.zeros((40, 40), np.int32)
    labels[5, 5:30] = 1  # a 25-pixel line: linear, 0.56 mm equivalent diameter
    labels[20:22, 20:22] = 2  # 2x2: round, punctate at 0.1 mm
    labels[30:37, 30:37] = 3  # 7x7 at 0.1 mm: 0.79 mm, not punctate
    f = calcification_features(np.ones((40, 40)), labels, pixel_spacing_mm=0.1)
    assert f["calc_linear_proportion"] == pytest.approx(1 / 3)
    assert f["calc_punctate_proportion"] == pytest.approx(1 / 3)
    assert f["calc_circular_proportion"] == pytest.approx(2 / 3)


def test_solidity_of_pixels_as_unit_squares():
    labels = np.zeros((8, 8), int)
    labels[2, 2] = labels[3, 2] = labels[3, 3] = 1  # L-tromino: hull area 3.5
    labels[6, 6] = 2  # one pixel: 1
    f = calcification_features(np.ones((8, 8)), labels, pixel_spacing_mm=0.1)
    assert f["calc_mean_solidity"] == pytest.approx((3 / 3.5 + 1) / 2)


def test_boolean_mask_is_split_into_calcifications():
    image, labels = _two_squares()
    a = calcification_features(image, labels, pixel_spacing_mm=0.1)
    b = calcification_features(image, labels > 0, pixel_spacing_mm=0.1)
    assert a == b


def test_no_calcification_gives_zeros():
    f = calcification_features(np.ones((8, 8)), np.zeros((8, 8), int), pixel_spacing_mm=0.1, roi=ROI(4, 4, 3))
    assert f == dict.fromkeys(CALCIFICATION_FEATURES, 0.0)


def test_one_pixel_calcification_is_defined():
    labels = np.zeros((9, 9), int)
    labels[4, 4] = 1
    image = np.zeros((9, 9))
    image[4, 4] = 50
    f = calcification_features(image, labels, pixel_spacing_mm=0.2)
    assert all(math.isfinite(v) for v in f.values())
    assert f["calc_count"] == 1 and f["calc_area_cv"] == 0 and f["calc_cluster_spread_mm"] == 0
    assert f["calc_mean_spiculation"] == 0 and f["calc_linear_proportion"] == 0
    assert f["calc_density_per_cm2"] == pytest.approx(1 / (0.04 / 100))
    assert f["calc_contrast"] == 50 and f["calc_volume_ratio"] == 1.0


def test_constant_image_and_calcifications_covering_the_roi():
    labels = np.ones((6, 6), int)
    f = calcification_features(np.full((6, 6), 9.0), labels, pixel_spacing_mm=0.2, roi=ROI(2, 2, 2))
    assert all(math.isfinite(v) for v in f.values())
    assert f["calc_volume_ratio"] == 0.0  # no excess brightness anywhere
    assert f["calc_contrast"] == 0.0  # the calcifications are their own background


def test_bad_input_is_a_feature_error():
    image, labels = _two_squares()
    with pytest.raises(FeatureError, match="shape"):
        calcification_features(image[:, :-1], labels, pixel_spacing_mm=0.1)
    with pytest.raises(FeatureError, match="pixel_spacing_mm"):
        calcification_features(image, labels, pixel_spacing_mm=0)
    with pytest.raises(FeatureError, match="label"):
        calcification_features(image, labels.astype(float), pixel_spacing_mm=0.1)
    image[5, 5] = np.nan
    with pytest.raises(FeatureError, match="NaN"):
        calcification_features(image, labels, pixel_spacing_mm=0.1)
    image, labels = _two_squares()
    image[12, 12] = np.inf  # in the background of the ROI
    with pytest.raises(FeatureError, match="NaN or infinite"):
        calcification_features(image, labels, pixel_spacing_mm=0.1, roi=ROI(15, 15, 14))


def test_cluster_area_of_segmentation_is_the_features_cluster_hull():
    # One definition of the cluster's area: segment's Cluster.area_mm2 is the area of the
    # hull H the features divide by (calc_density_per_cm2 = n / (area(H)·s²/100)).
    from mammocad.segment import segment_calcifications

    s = 0.1
    case = make_case(5, abnormality="calcification", pathology="malignant", size=512, pixel_spacing_mm=s)
    lesion = case.lesions[0]
    roi = ROI(lesion.x, lesion.y, lesion.radius * 1.2 + 3)
    seg = segment_calcifications(case.mammogram.pixels, roi, pixel_spacing_mm=s)
    assert seg.clusters
    for cluster in seg.clusters:
        members = np.where(np.isin(seg.labels, cluster.labels), seg.labels, 0)
        f = calcification_features(case.mammogram.pixels, members, pixel_spacing_mm=s, roi=roi)
        assert f["calc_count"] == cluster.size
        hull_cm2 = f["calc_count"] / f["calc_density_per_cm2"]
        assert cluster.area_mm2 == pytest.approx(hull_cm2 * 100, rel=1e-12)
