"""Helpers shared by the viewer tests: upload bytes made in code."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient

#: Identifiers written into the test DICOMs; no response or log may ever contain them.
PATIENT_NAME = "Doe^Janet"
PATIENT_ID = "PID-739215"


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def dicom_bytes(pixels: np.ndarray, pixel_spacing_mm: float) -> bytes:
    """A mammography DICOM (Part 10, with preamble) carrying patient identifiers."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["mammocad-viewer-test"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("test.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19610203"
    ds.Modality = "MG"
    ds.ImageLaterality = "L"
    ds.ViewPosition = "CC"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [pixel_spacing_mm, pixel_spacing_mm]
    ds.PixelData = (pixels.astype(np.uint16) * 16).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


#: What the viewer's page sends with every state-changing request (see mammocad.viewer.app).
PAGE_HEADERS = {"X-Mammocad-Request": "1"}


def client_for(app, **kwargs) -> TestClient:
    """A test client that talks to ``app`` as its own page would (Host: 127.0.0.1, the page's header)."""
    headers = {**PAGE_HEADERS, **kwargs.pop("headers", {})}
    return TestClient(app, base_url="http://127.0.0.1", headers=headers, **kwargs)
