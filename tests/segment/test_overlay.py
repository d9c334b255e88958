from __future__ import annotations

import numpy as np
import pytest
from _segment_scenes import SPACING, mass_scene
from scipy import ndimage as ndi

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI
from mammocad.segment import render_overlay, segment_calcifications, segment_mass
from mammocad.segment.overlay import CALCIFICATION_COLOUR, MASS_COLOUR, ROI_COLOUR


def _colour(rgb: np.ndarray, colour) -> np.ndarray:
    return np.all(rgb == np.asarray(colour, np.uint8), axis=-1)


@pytest.fixture()
def scene():
    s = mass_scene(shape=(300, 300), centre=(200, 200), axes=(20, 20), contrast=70.0)
    img = s.image.copy()
    for r, c in [(190, 185), (196, 214), (210, 200)]:
        img[r - 1 : r + 2, c - 1 : c + 2] += 60
    return img, ROI(200, 200, 30)


def test_draws_mass_calcifications_roi_and_inset(scene):
    img, roi = scene
    before = img.copy()
    calcs = segment_calcifications(img, roi, pixel_spacing_mm=SPACING)
    mass = segment_mass(img, roi, pixel_spacing_mm=SPACING)
    assert calcs.count >= 1 and mass.found
    rgb = render_overlay(img, roi, calcs, mass)
    assert rgb.shape == (300, 300, 3) and rgb.dtype == np.uint8
    assert np.array_equal(img, before)
    red = _colour(rgb, MASS_COLOUR)
    # the red outline hugs the mass boundary in the main view
    edge = mass.mask & ~ndi.binary_erosion(mass.mask)
    assert red[edge].mean() > 0.9
    assert _colour(rgb, CALCIFICATION_COLOUR).any()
    # ROI circle, and an inset framed in the ROI colour in the corner away from the ROI
    assert _colour(rgb, ROI_COLOUR)[200, 170] or _colour(rgb, ROI_COLOUR)[200, 230]
    assert _colour(rgb[:130, :130], ROI_COLOUR).sum() > 200
    assert red[:130, :130].sum() > red[150:, 150:].sum()  # zoomed contour is longer


def test_no_inset_and_no_roi(scene):
    img, roi = scene
    grey = np.clip(img, 0, 255).astype(np.uint8)
    plain = render_overlay(grey, None)
    assert np.array_equal(plain[..., 0], grey) and np.array_equal(plain[..., 2], grey)
    no_inset = render_overlay(grey, roi, inset=False)
    assert np.array_equal(no_inset[:100, :100, 0], grey[:100, :100])


def test_shape_mismatch_and_bad_image(scene):
    img, roi = scene
    mass = segment_mass(img, roi, pixel_spacing_mm=SPACING)
    with pytest.raises(SegmentationError, match="shape"):
        render_overlay(img[:200, :200], roi, mass=mass)
    with pytest.raises(SegmentationError, match="2-D"):
        render_overlay(np.zeros((3, 4, 5)), roi)
    with pytest.raises(SegmentationError, match="numeric"):
        render_overlay(np.array([["a", "b"], ["c", "d"]]), None)
    with pytest.raises(ROIError, match="ROI"):
        render_overlay(img, (10, 10, 5))  # type: ignore[arg-type]


def test_roi_at_image_corner_still_renders(scene):
    img, _ = scene
    rgb = render_overlay(img, ROI(0, 0, 40))
    assert rgb.shape == (300, 300, 3)
