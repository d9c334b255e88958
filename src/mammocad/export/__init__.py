"""DICOM output: a Segmentation and a Structured Report that a PACS can show.

Values in, pydicom datasets out; nothing here reads or writes a file. The caller
hands over the source image's header (:func:`mammocad.io.read_dicom_header`),
the masks found on the analysis grid and its scale, and, for the report, the
malignancy probability and the features:

- :func:`make_segmentation`: a binary DICOM SEG on the source image's own grid,
  one segment per finding type found (microcalcifications; mass).
- :func:`make_report`: a Comprehensive SR, TID 1500 measurement report, one
  measurement group per segment of that SEG.
- :func:`resample_mask` and :func:`patient_orientation`: the two pieces of
  geometry both need.

See ``docs/dicom.md``.
"""

from mammocad.export._context import FINDING_TYPES, FINDINGS, FindingCode, patient_orientation
from mammocad.export.seg import SEG_SERIES_NUMBER, make_segmentation, resample_mask
from mammocad.export.sr import (
    FEATURE_SCHEME,
    PROBABILITY_CONCEPT,
    SR_SERIES_NUMBER,
    feature_concept,
    feature_unit,
    make_report,
)

__all__ = [
    "FINDING_TYPES",
    "FINDINGS",
    "FindingCode",
    "patient_orientation",
    "resample_mask",
    "make_segmentation",
    "SEG_SERIES_NUMBER",
    "make_report",
    "SR_SERIES_NUMBER",
    "PROBABILITY_CONCEPT",
    "FEATURE_SCHEME",
    "feature_concept",
    "feature_unit",
]
