from __future__ import annotations

import numpy as np
import pytest
from _segment_scenes import dice
from scipy import ndimage as ndi

from mammocad.errors import SegmentationError
from mammocad.segment import breast_mask, chest_wall_side


def _film(seed: int = 0, *, pectoral: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """256×256 'MLO' film: half-ellipse breast on the left edge, a bright label top-right."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    breast = ((yy - 128) / 110.0) ** 2 + (xx / 150.0) ** 2 <= 1.0
    img = np.where(breast, 110.0, 8.0) + rng.normal(0, 3, (256, 256))
    img += np.where(breast, ndi.gaussian_filter(rng.normal(0, 1, (256, 256)), 4) * 60, 0)
    label = (yy > 10) & (yy < 30) & (xx > 200) & (xx < 240)
    img[label] = 250.0
    muscle = breast & (xx < 80 - 0.8 * (yy - 18))
    if pectoral:
        img[muscle] = 200.0 + rng.normal(0, 3, muscle.sum())
    return np.clip(img, 0, 255).astype(np.uint8), breast, muscle


def test_breast_found_and_label_excluded():
    img, truth, _ = _film()
    mask = breast_mask(img)
    assert mask.shape == img.shape and mask.dtype == bool
    assert dice(mask, truth) > 0.97
    assert not mask[20, 220]


def test_right_breast_is_the_mirror_image():
    img, truth, _ = _film()
    mask = breast_mask(img[:, ::-1])
    assert dice(mask, truth[:, ::-1]) > 0.97
    assert chest_wall_side(mask) == "right" and chest_wall_side(truth) == "left"
    # laterality only decides when the image cannot: a centred, symmetric blob
    blob = np.zeros((50, 50), bool)
    blob[10:40, 10:40] = True
    assert chest_wall_side(blob, "R") == "right" and chest_wall_side(blob, "L") == "left"
    assert chest_wall_side(mask, "L") == "right"  # the image wins


@pytest.mark.parametrize("flip", [False, True])
def test_pectoral_muscle_removed(flip):
    img, truth, muscle = _film(pectoral=True)
    laterality = "L"
    if flip:
        img, truth, muscle, laterality = img[:, ::-1], truth[:, ::-1], muscle[:, ::-1], "R"
    kept = breast_mask(img, remove_pectoral=True, laterality=laterality)
    assert (kept & muscle).sum() < 0.15 * muscle.sum()
    assert dice(kept, truth & ~muscle) > 0.93
    assert dice(breast_mask(img, remove_pectoral=True), kept) > 0.99  # side inferred
    assert (breast_mask(img) & muscle).sum() > 0.95 * muscle.sum()  # only when asked


@pytest.mark.parametrize("value", [0, 77])
def test_blank_image_gives_empty_mask(value):
    assert not breast_mask(np.full((40, 40), value, np.uint8)).any()


def test_bad_input():
    with pytest.raises(SegmentationError, match="laterality"):
        breast_mask(np.zeros((20, 20)), laterality="left")
    with pytest.raises(SegmentationError, match="2-D"):
        breast_mask(np.zeros(20))


@pytest.mark.realdata
def test_real_mias_film(mias_dir):
    from mammocad.io import read_mammogram

    img = read_mammogram(mias_dir / "mdb001.png").pixels
    mask = breast_mask(img)
    assert 0.15 < mask.mean() < 0.6
    assert not mask[:, :100].any()  # mdb001's breast lies on the right; the left is film
