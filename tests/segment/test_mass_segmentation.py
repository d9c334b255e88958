from __future__ import annotations

import numpy as np
import pytest
from _segment_scenes import SPACING, dice, mass_scene, tissue
from scipy import ndimage as ndi
from skimage.measure import find_contours

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI
from mammocad.segment import MASS_METHODS, mask_contour, segment_mass

ROI_MASS = ROI(100, 100, 40)


@pytest.mark.parametrize("method", MASS_METHODS)
def test_delineates_a_blurred_ellipse(mass, method):
    seg = segment_mass(mass.image, ROI_MASS, pixel_spacing_mm=SPACING, method=method)
    assert dice(seg.mask, mass.truth) > 0.85
    assert ndi.label(seg.mask, structure=np.ones((3, 3)))[1] == 1
    assert seg.area_px == int(seg.mask.sum())
    assert seg.area_mm2 == pytest.approx(seg.area_px * SPACING**2)


def test_contour_is_closed_and_matches_skimage(mass):
    seg = segment_mass(mass.image, ROI_MASS, pixel_spacing_mm=SPACING)
    contour = seg.contour
    assert contour.ndim == 2 and contour.shape[1] == 2 and len(contour) > 50
    assert np.allclose(contour[0], contour[-1])
    reference = max(find_contours(np.pad(seg.mask, 1).astype(float), 0.5), key=len) - 1
    assert np.allclose(contour, reference)
    # every contour point is within one pixel of a mask pixel boundary
    rr, cc = np.nonzero(seg.mask)
    assert contour[:, 0].min() >= rr.min() - 1 and contour[:, 0].max() <= rr.max() + 1


def test_keeps_the_component_at_the_seed_not_a_brighter_neighbour():
    scene = mass_scene(centre=(100, 80), axes=(18, 18))
    img = scene.image.copy()
    yy, xx = np.mgrid[:200, :200]
    img[(yy - 100) ** 2 + (xx - 140) ** 2 <= 12**2] += 90  # brighter blob beside the mass
    seg = segment_mass(img, ROI(80, 100, 30), pixel_spacing_mm=SPACING)
    assert dice(seg.mask, scene.truth) > 0.85
    assert not seg.mask[100, 140]


def test_centre_darker_than_surround_gives_empty_result():
    scene = mass_scene(contrast=-45.0)
    seg = segment_mass(scene.image, ROI_MASS, pixel_spacing_mm=SPACING)
    assert not seg.found and seg.contour.shape == (0, 2) and seg.centre is None


@pytest.mark.parametrize("value", [0, 200])
def test_black_or_uniform_image_gives_empty_result(value):
    seg = segment_mass(np.full((80, 80), value, np.uint8), ROI(40, 40, 20), pixel_spacing_mm=SPACING)
    assert not seg.found and seg.mask.shape == (80, 80) and seg.mask.dtype == bool


def test_roi_partly_outside_is_clipped():
    scene = mass_scene(centre=(15, 15), axes=(14, 14))
    seg = segment_mass(scene.image, ROI(10, 10, 25), pixel_spacing_mm=SPACING)
    assert dice(seg.mask, scene.truth) > 0.85


def test_input_not_mutated_and_dtypes(mass):
    img8 = np.clip(mass.image, 0, 255).astype(np.uint8)
    before = img8.copy()
    seg = segment_mass(img8, ROI_MASS, pixel_spacing_mm=SPACING)
    assert np.array_equal(img8, before)
    assert dice(seg.mask, mass.truth) > 0.85


def test_mask_contour_of_empty_and_border_masks():
    assert mask_contour(np.zeros((5, 5), bool)).shape == (0, 2)
    full = np.ones((6, 6), bool)
    c = mask_contour(full)
    assert c[:, 0].min() == pytest.approx(-0.5) and c[:, 0].max() == pytest.approx(5.5)


def test_bad_input():
    img = tissue((50, 50), seed=0)
    with pytest.raises(ROIError, match="outside"):
        segment_mass(img, ROI(-100, 25, 10), pixel_spacing_mm=SPACING)
    with pytest.raises(SegmentationError, match="method"):
        segment_mass(img, ROI(25, 25, 10), pixel_spacing_mm=SPACING, method="snake")
    with pytest.raises(SegmentationError, match="pixel_spacing_mm"):
        segment_mass(img, ROI(25, 25, 10), pixel_spacing_mm=-1)
    with pytest.raises(SegmentationError, match="NaN"):
        segment_mass(np.full((10, 10), np.inf), ROI(5, 5, 3), pixel_spacing_mm=SPACING)
    with pytest.raises(SegmentationError, match="expected_fraction"):
        segment_mass(img, ROI(25, 25, 10), pixel_spacing_mm=SPACING, method="region", expected_fraction=0.0)
    with pytest.raises(SegmentationError, match="2-D"):
        mask_contour(np.ones(3, dtype=bool))


@pytest.mark.parametrize("roi_radius", [27, 32, 45])
def test_contour_follows_the_edge_not_the_roi_circle(roi_radius):
    # Issue 14: no cap at a fraction of the ROI radius decides where the outline ends.
    # A disc of radius 30: a tight circle (27, smaller than the mass), a close one and a
    # loose one all give the disc, within a pixel or two of its edge.
    scene = mass_scene(axes=(30, 30))
    seg = segment_mass(scene.image, ROI(100, 100, roi_radius), pixel_spacing_mm=SPACING)
    assert dice(seg.mask, scene.truth) > 0.93
    radii = np.hypot(seg.contour[:, 0] - 100, seg.contour[:, 1] - 100)
    assert np.median(radii) == pytest.approx(30, abs=2.0)
    if abs(0.9 * roi_radius - 30) > 2:  # nothing rides a circle at 90 % of the ROI radius
        assert np.mean(np.abs(radii - 0.9 * roi_radius) < 0.5) < 0.25


def test_soft_prior_keeps_the_outline_inside_a_loose_circle_on_flat_tissue():
    # A faint mass with no strong edge past the circle does not spill out of it.
    scene = mass_scene(axes=(20, 20), contrast=12.0)
    seg = segment_mass(scene.image, ROI(100, 100, 26), pixel_spacing_mm=SPACING)
    radii = np.hypot(seg.contour[:, 0] - 100, seg.contour[:, 1] - 100)
    assert radii.max() < 1.5 * 26 and dice(seg.mask, scene.truth) > 0.8
