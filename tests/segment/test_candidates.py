from __future__ import annotations

import numpy as np
import pytest
from _segment_scenes import SPACING, add_calcifications
from scipy import ndimage as ndi

from mammocad.errors import SegmentationError
from mammocad.segment import breast_mask, detect_candidates


def _whole_image(seed: int = 0):
    """384×384 film: a breast on the left with a calcification cluster and a mass."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:384, :384]
    breast = ((yy - 192) / 170.0) ** 2 + (xx / 300.0) ** 2 <= 1.0
    texture = ndi.gaussian_filter(rng.normal(0, 1, (384, 384)), 6)
    img = np.where(breast, 100.0 + 15.0 * texture / texture.std(), 5.0) + rng.normal(0, 1.5, (384, 384))
    mass = (yy - 280) ** 2 + (xx - 150) ** 2 <= 25**2
    img += ndi.gaussian_filter(mass.astype(float), 2) * 60
    centres = [(100, 200), (106, 210), (96, 214), (110, 198), (102, 220)]
    scene = add_calcifications(img, centres, [3, 3, 4, 3, 3], contrast=45)
    return scene.image, breast, (103.0, 208.0), (280.0, 150.0)


def test_finds_the_cluster_and_the_mass():
    img, breast, calc_centre, mass_centre = _whole_image()
    found = detect_candidates(img, pixel_spacing_mm=SPACING, breast=breast)
    assert found and all(a.score >= b.score for a, b in zip(found, found[1:], strict=False))
    assert all(0 <= c.score < 1 for c in found)
    calcs = [c for c in found if c.kind == "calcification"]
    masses = [c for c in found if c.kind == "mass"]
    assert any(np.hypot(c.roi.y - calc_centre[0], c.roi.x - calc_centre[1]) < 15 for c in calcs)
    assert any(np.hypot(c.roi.y - mass_centre[0], c.roi.x - mass_centre[1]) < 15 for c in masses)
    best_mass = next(c for c in masses if np.hypot(c.roi.y - 280, c.roi.x - 150) < 15)
    assert 20 < best_mass.roi.radius < 80  # encloses the 25-px mass


def test_breast_mask_computed_when_not_given_and_kinds_and_limit():
    img, _, _, _ = _whole_image()
    found = detect_candidates(img, pixel_spacing_mm=SPACING, max_candidates=2, kinds=("mass",))
    assert 1 <= len(found) <= 2 and {c.kind for c in found} == {"mass"}
    inside = breast_mask(img)
    assert all(inside[int(c.roi.y), int(c.roi.x)] for c in found)


@pytest.mark.parametrize("value", [0, 90])
def test_blank_image_gives_no_candidates(value):
    assert detect_candidates(np.full((128, 128), value, np.uint8), pixel_spacing_mm=SPACING) == []


def test_bad_input():
    img = np.zeros((64, 64))
    with pytest.raises(SegmentationError, match="breast"):
        detect_candidates(img, pixel_spacing_mm=SPACING, breast=np.ones((10, 10), bool))
    with pytest.raises(SegmentationError, match="kinds"):
        detect_candidates(img, pixel_spacing_mm=SPACING, kinds=("tumour",))
    with pytest.raises(SegmentationError, match="max_candidates"):
        detect_candidates(img, pixel_spacing_mm=SPACING, max_candidates=0)
