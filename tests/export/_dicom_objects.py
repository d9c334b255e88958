"""Helpers of the export tests: a small mammogram with its patient/study context, and dciodvfy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from _dciodvfy import dciodvfy_errors

__all__ = ["mammogram_file", "dciodvfy_errors", "MG_FOR_PRESENTATION"]

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"


def mammogram_file(
    path: Path,
    shape: tuple[int, int] = (90, 60),
    *,
    orientation: list[str] | str | None = None,
    laterality: str | None = "R",
    view: str | None = "MLO",
    birth_date: str = "19600101",
    seed: int = 0,
    pixels: np.ndarray | None = None,
    spacing_mm: float = 0.1,
) -> Path:
    """Write a For Presentation mammogram carrying the context a SEG and an SR copy.

    ``pixels`` (12-bit values) default to noise of ``shape``.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MG_FOR_PRESENTATION
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Test^Patient"
    ds.PatientID = "P001"
    ds.PatientBirthDate = birth_date
    ds.PatientSex = "F"
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.StudyID = "S1"
    ds.AccessionNumber = "A42"
    ds.ReferringPhysicianName = ""
    ds.Modality = "MG"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImagerPixelSpacing = [spacing_mm, spacing_mm]
    if orientation is not None:
        ds.PatientOrientation = orientation
    if laterality is not None:
        ds.ImageLaterality = laterality
    if view is not None:
        ds.ViewPosition = view
    if pixels is None:
        pixels = np.random.default_rng(seed).integers(0, 4096, size=shape, dtype=np.uint16)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
