"""Helpers shared by the viewer tests: upload bytes made in code."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient

#: Identifiers written into the test DICOMs; no response or log may ever contain them.
PATIENT_NAME = "Doe^Janet"
PATIENT_ID = "PID-739215"
STUDY_UID = "1.2.826.0.1.3680043.8.498.739215"


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def dicom_bytes(pixels: np.ndarray, pixel_spacing_mm: float) -> bytes:
    """A mammography DICOM (Part 10, with preamble) carrying patient identifiers.

    It has the study and series UIDs a DICOM SEG and SR reference (the viewer's
    "Export DICOM").
    """
    from _hostile import dicom_bytes as encode
    from _hostile import dicom_dataset

    ds = dicom_dataset(
        pixels.astype(np.uint16) * 16,
        pixel_spacing_mm,
        PatientName=PATIENT_NAME,
        PatientID=PATIENT_ID,
        PatientBirthDate="19610203",
        ImageLaterality="L",
        ViewPosition="CC",
        StudyInstanceUID=STUDY_UID,
        SeriesInstanceUID=STUDY_UID + ".1",
    )
    return encode(ds)


#: What the viewer's page sends with every state-changing request (see mammocad.viewer.app).
PAGE_HEADERS = {"X-Mammocad-Request": "1"}


def client_for(app, **kwargs) -> TestClient:
    """A test client that talks to ``app`` as its own page would (Host: 127.0.0.1, the page's header)."""
    headers = {**PAGE_HEADERS, **kwargs.pop("headers", {})}
    return TestClient(app, base_url="http://127.0.0.1", headers=headers, **kwargs)
