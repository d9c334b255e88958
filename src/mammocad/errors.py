"""One exception family for mammocad.

Every error raised on bad input is a :class:`MammocadError`; its message names the
file, the row or the argument at fault and what was expected, so that the command
line can print it as one line.
"""

from __future__ import annotations

__all__ = [
    "MammocadError",
    "ImageReadError",
    "DatasetError",
    "ROIError",
    "SegmentationError",
    "FeatureError",
    "PixelSpacingError",
    "FeatureTableError",
    "ModelError",
    "SynthesisError",
    "ExportError",
]


class MammocadError(Exception):
    """Base class of every error mammocad raises on bad input."""


class ImageReadError(MammocadError, OSError):
    """An image file is missing, truncated, corrupt or of an unsupported kind."""


class DatasetError(MammocadError, ValueError):
    """A lesion table, manifest or annotation file is malformed."""


class ROIError(MammocadError, ValueError):
    """A region of interest is malformed or does not overlap the image."""


class SegmentationError(MammocadError, ValueError):
    """Segmentation was given input it cannot work on."""


class FeatureError(MammocadError, ValueError):
    """Feature extraction was given input it cannot work on."""


class PixelSpacingError(FeatureError):
    """An image's pixel spacing is unknown (or not a positive number) where millimetres are needed.

    Raised before the image's pixels are decoded; the message names the file and
    how to give the spacing (``--pixel-spacing``, a ``pixel_spacing_mm`` column).
    """


class FeatureTableError(FeatureError, DatasetError):
    """A feature table is malformed, unreadable, or being written by another run.

    Raised by :mod:`mammocad.features.table` for every problem of a feature table,
    so that a caller catches one type (it is both a :class:`FeatureError` and a
    :class:`DatasetError`).
    """


class ModelError(MammocadError, ValueError):
    """A model cannot be trained, applied, saved or loaded as asked."""


class SynthesisError(MammocadError, ValueError):
    """Synthetic data was asked for with an invalid argument."""


class ExportError(MammocadError, ValueError):
    """A DICOM Segmentation or Structured Report cannot be made from what was given."""
