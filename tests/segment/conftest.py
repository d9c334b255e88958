"""Fixtures of the segmentation tests (scenes built in _segment_scenes)."""

from __future__ import annotations

import pytest
from _segment_scenes import Scene, mass_scene
from _segment_scenes import calc_scene as _calc_scene


@pytest.fixture()
def calc_scene() -> Scene:
    """160×160 tissue with six calcifications (0.6-1 mm) forming one cluster."""
    return _calc_scene()


@pytest.fixture()
def mass() -> Scene:
    """200×200 tissue with one blurred elliptical mass."""
    return mass_scene(contrast=70.0)
