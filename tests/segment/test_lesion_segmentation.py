"""The LesionSegmentation value: one lesion segmented once, kept in a window of the image."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _segment_scenes import SPACING, calc_scene, mass_scene

from mammocad.errors import ROIError
from mammocad.io import ROI
from mammocad.segment import segment_calcifications, segment_lesion, segment_mass


def test_window_holds_what_the_segmenters_found():
    scene = mass_scene(contrast=70.0)
    image = scene.image.copy()
    calcs = calc_scene().image - calc_scene().image.mean()  # six calcifications, 160×160
    image[20:180, 20:180] += np.clip(calcs, 0, None)
    roi = ROI(100, 100, 45)
    seg = segment_lesion(image, roi, pixel_spacing_mm=SPACING)
    full_calcs = segment_calcifications(image, roi, pixel_spacing_mm=SPACING)
    full_mass = segment_mass(image, roi, pixel_spacing_mm=SPACING)
    rows, cols = seg.slices
    assert seg.grid_shape == image.shape and seg.roi == roi and seg.pixel_spacing_mm == SPACING
    np.testing.assert_array_equal(seg.image, image[rows, cols])
    # every segmented pixel is inside the window: nothing is cut off
    np.testing.assert_array_equal(seg.calcifications().labels, full_calcs.labels)
    np.testing.assert_array_equal(seg.mass().mask, full_mass.mask)
    np.testing.assert_array_equal(seg.mass_contour, full_mass.contour)
    assert seg.calcification_count == full_calcs.count > 0 and seg.mass_found
    assert seg.clusters == full_calcs.clusters
    assert seg.mass_area_mm2 == pytest.approx(full_mass.area_mm2)
    # the window keeps the context band around the ROI
    r0, c0, r1, c1 = seg.window
    assert r0 == 0 and c0 == 0 and (r1, c1) == image.shape  # 45 + 1.5 * 45 + 8 px reaches every edge
    assert seg.window_roi == ROI(roi.x - c0, roi.y - r0, roi.radius)


def test_window_is_clipped_small_and_read_only():
    image = mass_scene(shape=(400, 400), centre=(200, 120), axes=(10, 10), contrast=70.0).image
    roi = ROI(120, 200, 16)
    seg = segment_lesion(image, roi, pixel_spacing_mm=SPACING)
    r0, c0, r1, c1 = seg.window
    reach = 16 + 1.5 * 16 + 8
    assert r0 <= 200 - reach and r1 >= 200 + reach and c0 <= 120 - reach and c1 >= 120 + reach
    assert (r1 - r0) * (c1 - c0) < image.size / 4
    assert seg.image.shape == seg.labels.shape == seg.mass_mask.shape == (r1 - r0, c1 - c0)
    for array in (seg.image, seg.labels, seg.mass_mask, seg.mass_contour):
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.roi = ROI(1, 1, 1)  # type: ignore[misc]
    assert image.flags.writeable  # the input is not touched


def test_roi_off_the_image():
    with pytest.raises(ROIError, match="outside"):
        segment_lesion(np.zeros((50, 50)), ROI(500, 500, 10), pixel_spacing_mm=0.2)
