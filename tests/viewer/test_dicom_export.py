"""The viewer's "Export DICOM": a zip of the SEG and SR of a result, under the viewer's security rules."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from _viewer_helpers import PATIENT_ID, PATIENT_NAME, STUDY_UID, client_for, dicom_bytes

from _dciodvfy import dciodvfy_errors
from mammocad.viewer import create_app

#: What no JSON answer and no log line may carry (the zip itself copies them, as the standard requires).
IDENTIFIERS = (PATIENT_NAME, PATIENT_ID, "Janet", "19610203", STUDY_UID)


def _upload(client, data: bytes, name: str) -> dict:
    r = client.post(
        "/api/images", content=data, headers={"Content-Type": "application/octet-stream", "X-Filename": name}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _analyse(client, image_id: str, roi: tuple[float, float, float]):
    x, y, radius = roi
    return client.post(f"/api/images/{image_id}/analyse", json={"x": x, "y": y, "radius": radius})


@pytest.fixture(scope="module")
def with_model(model_dir: Path):
    return create_app(model_dir=model_dir)


def test_export_dicom_zip_holds_a_valid_seg_and_sr(with_model, case, case_dicom, tmp_path, caplog):
    """Upload a DICOM, analyse the mass with a model: the zip's SEG and SR pass dciodvfy and read back."""
    from mammocad.export import PROBABILITY_CONCEPT, feature_concept, resample_mask
    from mammocad.io import ROI, read_mammogram
    from mammocad.pipeline import analyse_lesion

    caplog.set_level(logging.DEBUG)
    client = client_for(with_model)
    info = _upload(client, case_dicom, "study.dcm")
    assert info["dicom"] is True
    response = _analyse(client, info["image_id"], case.mass_roi)
    assert response.status_code == 200, response.text
    result = response.json()
    url = result["exports"]["dicom_zip"]
    assert url.endswith("/dicom.zip")

    got = client.get(url)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"] == 'attachment; filename="study-dicom.zip"'
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        assert sorted(archive.namelist()) == ["seg.dcm", "sr.dcm"]
        archive.extractall(tmp_path)
    assert dciodvfy_errors(tmp_path / "seg.dcm") == []
    assert dciodvfy_errors(tmp_path / "sr.dcm") == []

    source = tmp_path / "study.dcm"
    source.write_bytes(case_dicom)
    sop_uid = pydicom.dcmread(source, stop_before_pixels=True).SOPInstanceUID
    seg = hd.seg.segread(tmp_path / "seg.dcm")
    # The context is copied from the upload's header, as the standard requires.
    assert (seg.PatientID, seg.StudyInstanceUID) == (PATIENT_ID, STUDY_UID)
    # Each segment is the library's mask of the same lesion, carried back to the upload's grid.
    analysis = analyse_lesion(read_mammogram(source), ROI(*case.mass_roi))
    masks = {
        "Microcalcifications": analysis.segmentation.calcifications().labels > 0,
        "Mass": analysis.segmentation.mass().mask,
    }
    assert [s.SegmentLabel for s in seg.SegmentSequence] == list(masks)
    for number, mask in enumerate(masks.values(), start=1):
        pixels = seg.get_pixels_by_source_instance([sop_uid], segment_numbers=[number])[0, :, :, 0]
        expected = resample_mask(mask, case.pixels.shape, analysis.grid.scale)
        np.testing.assert_array_equal(pixels > 0, expected)
    # The SR: the probability shown on the page, and the model's features, in each group.
    groups = hd.sr.srread(tmp_path / "sr.dcm").content.get_planar_roi_measurement_groups()
    assert len(groups) == 2
    for group in groups:
        assert group.get_measurements(name=PROBABILITY_CONCEPT)[0].value == result["probability"]
    mass_group = next(g for g in groups if g.finding_type.meaning == "Mass")
    area = mass_group.get_measurements(name=feature_concept("mass_area_mm2"))[0].value
    assert area == pytest.approx(result["features"]["mass_area_mm2"], rel=1e-12)

    for identifier in IDENTIFIERS:
        assert identifier not in json.dumps(info) + response.text + caplog.text


def test_export_dicom_needs_the_page_header_and_the_same_origin(with_model, case, case_dicom):
    """The zip carries patient data: a plain link (another page's <a href>) is refused."""
    client = client_for(with_model)
    image_id = _upload(client, case_dicom, "study.dcm")["image_id"]
    url = _analyse(client, image_id, case.mass_roi).json()["exports"]["dicom_zip"]
    bare = client_for(with_model, headers={"X-Mammocad-Request": ""})
    refused = bare.get(url)
    assert refused.status_code == 403 and "X-Mammocad-Request" in refused.json()["detail"]
    cross = client.get(url, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert client.get(url).status_code == 200


def test_export_dicom_takes_a_place_in_the_work_pool(case, case_dicom, model_dir):
    app = create_app(model_dir=model_dir, workers=1, queue=0)
    client = client_for(app)
    image_id = _upload(client, case_dicom, "study.dcm")["image_id"]
    url = _analyse(client, image_id, case.mass_roi).json()["exports"]["dicom_zip"]
    ticket = app.state.pool.ticket()
    try:
        busy = client.get(url)
        assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    finally:
        ticket.cancel()
    assert client.get(url).status_code == 200


def test_without_a_model_the_zip_holds_the_seg(case, case_dicom):
    client = client_for(create_app())
    image_id = _upload(client, case_dicom, "study.dcm")["image_id"]
    result = _analyse(client, image_id, case.mass_roi).json()
    got = client.get(result["exports"]["dicom_zip"])
    assert got.status_code == 200, got.text
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        assert archive.namelist() == ["seg.dcm"]


def test_non_dicom_and_empty_results_say_why(case, case_png):
    client = client_for(create_app())
    png = _upload(client, case_png, "film.png")
    assert png["dicom"] is False
    body = {"x": case.mass_roi[0], "y": case.mass_roi[1], "radius": case.mass_roi[2], "pixel_spacing_mm": 0.1}
    result = client.post(f"/api/images/{png['image_id']}/analyse", json=body).json()
    assert "dicom_zip" not in result["exports"]  # the page shows no button
    refused = client.get(f"/api/images/{png['image_id']}/results/{result['result_id']}/dicom.zip")
    assert refused.status_code == 404 and refused.json()["detail"].startswith("film.png: not a DICOM image")

    # A flat image: nothing segmented, so no SEG; the answer names the upload only.
    flat = dicom_bytes(np.full((256, 256), 60, dtype=np.uint8), 0.1)
    image_id = _upload(client, flat, "study.dcm")["image_id"]
    empty = _analyse(client, image_id, (128.0, 128.0, 40.0)).json()
    assert empty["calcifications"]["count"] == 0 and empty["mass"]["area_mm2"] == 0
    nothing = client.get(empty["exports"]["dicom_zip"])
    assert nothing.status_code == 422, nothing.text
    detail = nothing.json()["detail"]
    assert detail.startswith("study.dcm: nothing was segmented")
    assert not any(identifier in detail for identifier in IDENTIFIERS)
