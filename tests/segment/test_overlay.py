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


def test_candidates_drawn_with_kind_colours_and_labels():
    from mammocad.segment import render_candidates
    from mammocad.segment.candidates import Candidate
    from mammocad.segment.overlay import BREAST_COLOUR, CANDIDATE_COLOURS

    img = np.full((300, 300), 90.0)
    before = img.copy()
    cands = [Candidate("mass", ROI(100, 150, 30), 0.81), Candidate("calcification", ROI(220, 80, 15), 0.42)]
    breast = np.zeros((300, 300), bool)
    breast[20:280, :260] = True
    rgb = render_candidates(img, cands, breast=breast)
    assert rgb.shape == (300, 300, 3) and np.array_equal(img, before)
    mass, calc = _colour(rgb, CANDIDATE_COLOURS["mass"]), _colour(rgb, CANDIDATE_COLOURS["calcification"])
    assert mass[150, 128:133].any() and calc[80, 233:238].any()  # on the circles
    near = np.abs(rgb.astype(int) - CANDIDATE_COLOURS["mass"]).sum(axis=-1) < 60  # anti-aliased text
    assert near[105:126, 65:125].sum() > 20  # the label "#1 mass 0.81" just above the mass circle
    assert _colour(rgb, BREAST_COLOUR)[150, 255:262].any()
    # the same through render_overlay, whose old call keeps working
    again = render_overlay(img, None, candidates=cands, breast=breast)
    assert np.array_equal(again, rgb)


def test_candidate_drawing_checks_its_input():
    from mammocad.segment import render_candidates
    from mammocad.segment.candidates import Candidate

    img = np.zeros((64, 64))
    with pytest.raises(SegmentationError, match="kind"):
        render_candidates(img, [Candidate("tumour", ROI(30, 30, 5), 0.5)])
    with pytest.raises(SegmentationError, match="breast"):
        render_candidates(img, [], breast=np.ones((10, 10), bool))
    assert render_candidates(img, []).shape == (64, 64, 3)
