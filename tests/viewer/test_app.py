"""API tests of the viewer app: good round trips, and bad requests that must fail cleanly."""

from __future__ import annotations

import io
import json
import logging
import math

import numpy as np
import pytest
from _viewer_helpers import PATIENT_ID, PATIENT_NAME, client_for, png_bytes
from PIL import Image

from mammocad.viewer import create_app

IDENTIFIERS = (PATIENT_NAME, PATIENT_ID, "Janet", "19610203")


def upload(client, data: bytes, name: str = "case.png", **kwargs):
    headers = {"Content-Type": "application/octet-stream", "X-Filename": name}
    return client.post("/api/images", content=data, headers=headers, **kwargs)


@pytest.fixture()
def client():
    return client_for(create_app(), raise_server_exceptions=False)


def assert_still_serving(client, good_png: bytes) -> None:
    """After a bad request the same server must answer a good one."""
    assert client.get("/api/status").status_code == 200
    r = upload(client, good_png, "after-bad-request.png")
    assert r.status_code == 200, r.text
    assert client.get(r.json()["display_url"]).status_code == 200


# --- status, features, pages -----------------------------------------------------------


def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_other_host_names_are_refused(case_png):
    """A page elsewhere reaching the local viewer through DNS rebinding names its own host."""
    local = client_for(create_app())
    assert local.get("/api/status").status_code == 200
    assert local.get("/api/status", headers={"Host": "evil.example:8000"}).status_code == 400
    assert local.get("/api/status", headers={"Host": "localhost:8000"}).status_code == 200
    anywhere = client_for(create_app(allowed_hosts=None))
    assert anywhere.get("/api/status", headers={"Host": "viewer.lab.example"}).status_code == 200


def test_status_without_model_says_so(client):
    status = client.get("/api/status").json()
    assert status["model"] is None
    assert "--model" in status["model_message"]
    assert status["max_upload_bytes"] == 40_000_000


def test_features_come_from_the_registry(client):
    from mammocad.features import FEATURES

    listed = client.get("/api/features").json()
    assert [f["name"] for f in listed] == [spec.name for spec in FEATURES]
    assert len(listed) == 41
    by_name = {f["name"]: f for f in listed}
    for spec in FEATURES:
        assert by_name[spec.name]["definition"] == spec.definition
        assert by_name[spec.name]["unit"] == spec.unit


# --- uploads ---------------------------------------------------------------------------


def test_png_upload_then_display(client, case, case_png):
    r = upload(client, case_png, "synthetic.png")
    assert r.status_code == 200, r.text
    info = r.json()
    assert (info["height"], info["width"]) == case.pixels.shape
    assert info["pixel_spacing_mm"] is None and info["name"] == "synthetic.png"
    shown = client.get(info["display_url"])
    assert shown.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(shown.content))), case.pixels)


def test_dicom_upload_keeps_no_patient_identifiers(client, case, case_dicom, caplog):
    caplog.set_level(logging.DEBUG)
    r = upload(client, case_dicom, "study.dcm")
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["pixel_spacing_mm"] == pytest.approx(case.pixel_spacing_mm)
    assert (info["laterality"], info["view"]) == ("L", "CC")
    assert set(info) == {
        "image_id",
        "name",
        "width",
        "height",
        "pixel_spacing_mm",
        "laterality",
        "view",
        "dicom",
        "display_url",
    }
    assert info["dicom"] is True  # its header is kept (in memory) for the DICOM export
    for identifier in IDENTIFIERS:
        assert identifier not in r.text + caplog.text


def test_truncated_dicom_is_422_naming_the_upload(client, case_dicom, case_png):
    r = upload(client, case_dicom[: len(case_dicom) // 2], "half-study.dcm")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith("half-study.dcm:") and "DICOM" in detail
    assert "mammocad-upload" not in detail  # no server temporary path leaks
    assert_still_serving(client, case_png)


def test_50_mb_upload_is_413(client, case_png):
    big = b"\x89PNG\r\n\x1a\n" + bytes(50 * 1024 * 1024)
    r = upload(client, big, "huge.png")
    assert r.status_code == 413
    assert "huge.png" in r.json()["detail"] and "40 MB" in r.json()["detail"]
    assert_still_serving(client, case_png)


def test_upload_limit_is_enforced_while_streaming(case_png):
    """Driven at the ASGI level: the app must stop reading soon after the limit."""
    import asyncio

    app = create_app(max_upload_mb=1)
    chunk = 64 * 1024
    total_chunks = 200  # 13 MB if read to the end
    pulled = []
    answer: dict = {}

    async def receive():
        if len(pulled) >= total_chunks:
            return {"type": "http.disconnect"}
        pulled.append(chunk)
        data = (b"\x89PNG\r\n\x1a\n" + bytes(chunk - 8)) if len(pulled) == 1 else bytes(chunk)
        return {"type": "http.request", "body": data, "more_body": len(pulled) < total_chunks}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/images",
        "raw_path": b"/api/images",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"x-filename", b"stream.png"),
            (b"x-mammocad-request", b"1"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    assert answer["status"] == 413
    assert "1 MB" in json.loads(answer["body"])["detail"]
    assert sum(pulled) <= 1_000_000 + chunk  # refused at the limit, not after reading it all
    assert_still_serving(client_for(app), case_png)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"%PDF-1.7\n" + bytes(500), "report.pdf"),
        (b"%PDF-1.7\n" + bytes(500), "disguised.png"),  # the extension does not decide
        (b"just some text that is not an image\n" * 20, "notes.dcm"),
        (b"GIF89a" + bytes(300), "anim.gif"),
        (b"\x89PN", "tiny.png"),
    ],
)
def test_wrong_type_is_415(client, case_png, data, name):
    r = upload(client, data, name)
    assert r.status_code == 415
    assert r.json()["detail"].startswith(f"{name}:") and "DICOM" in r.json()["detail"]
    assert_still_serving(client, case_png)


def test_multipart_form_is_refused_with_a_hint(client, case_png):
    r = client.post("/api/images", files={"file": ("case.png", case_png, "image/png")})
    assert r.status_code == 415 and "request body" in r.json()["detail"]


def test_corrupt_png_is_422(client, case_png):
    r = upload(client, case_png[:200], "cut.png")
    assert r.status_code == 422 and r.json()["detail"].startswith("cut.png:")
    assert_still_serving(client, case_png)


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.png", "..%2F..%2Fetc%2Fpasswd.png", "C:\\Windows\\x.png", "a/b.png", "..", "x%00.png"],
)
def test_path_traversal_in_the_upload_name_is_400(client, case_png, name):
    r = upload(client, case_png, name)
    assert r.status_code == 400
    assert "file name" in r.json()["detail"]
    assert_still_serving(client, case_png)


def test_images_are_kept_in_a_small_lru(case_png):
    client = client_for(create_app(max_images=2))
    ids = [upload(client, case_png, f"{i}.png").json()["image_id"] for i in range(3)]
    assert len(set(ids)) == 3 and all(len(i) >= 20 for i in ids)
    assert client.get(f"/api/images/{ids[0]}").status_code == 404
    assert client.get(f"/api/images/{ids[2]}").status_code == 200
    assert "open it again" in client.get(f"/api/images/{ids[0]}/display.png").json()["detail"]


# --- analysis --------------------------------------------------------------------------


@pytest.fixture()
def opened(client, case_png) -> str:
    return upload(client, case_png, "synthetic.png").json()["image_id"]


def analyse(client, image_id, roi, **extra):
    x, y, radius = roi
    return client.post(f"/api/images/{image_id}/analyse", json={"x": x, "y": y, "radius": radius, **extra})


def test_analysis_round_trip_without_model(client, case, opened):
    from mammocad.features import FEATURE_NAMES

    r = analyse(client, opened, case.calc_roi, pixel_spacing_mm=case.pixel_spacing_mm)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["probability"] is None and "--model" in result["probability_note"]
    assert list(result["features"]) == list(FEATURE_NAMES)
    assert all(v is not None and math.isfinite(v) for v in result["features"].values())
    assert result["calcifications"]["count"] >= 1
    assert result["features"]["calc_count"] == result["calcifications"]["count"]
    layer = result["calcifications"]["layer"]
    x, y, radius = case.calc_roi
    assert (
        layer["x0"] <= x <= layer["x0"] + layer["width"] and layer["y0"] <= y <= layer["y0"] + layer["height"]
    )

    overlay = client.get(result["exports"]["overlay_png"])
    assert overlay.status_code == 200 and overlay.headers["content-type"] == "image/png"
    assert "attachment" in overlay.headers["content-disposition"]
    assert np.asarray(Image.open(io.BytesIO(overlay.content))).shape == (1024, 1024, 3)
    exported = json.loads(client.get(result["exports"]["result_json"]).text)
    assert exported["features"] == result["features"] and exported["roi"]["x"] == pytest.approx(x)


def test_mass_contour_surrounds_the_mass(client, case, opened):
    result = analyse(client, opened, case.mass_roi, pixel_spacing_mm=case.pixel_spacing_mm).json()
    contour = np.asarray(result["mass"]["contour_xy"])
    assert len(contour) > 10 and result["mass"]["area_mm2"] > 0
    x, y, radius = case.mass_roi
    # The contour is in the uploaded image's coordinates (not the 1024 analysis grid).
    centre = contour.mean(axis=0)
    assert math.hypot(centre[0] - x, centre[1] - y) < radius
    assert result["analysis_grid"]["scale"] == pytest.approx(1024 / 512)


def test_unknown_spacing_is_422_asking_for_it(client, case, opened, case_png):
    r = analyse(client, opened, case.mass_roi)
    assert r.status_code == 422 and "pixel spacing unknown" in r.json()["detail"]
    assert_still_serving(client, case_png)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"x": 5000, "y": 5000, "radius": 10, "pixel_spacing_mm": 0.1}, "outside"),
        ({"x": 100, "y": 100, "radius": -3, "pixel_spacing_mm": 0.1}, "radius"),
        ({"x": 100, "y": 100, "radius": 10, "pixel_spacing_mm": -1}, "pixel_spacing_mm"),
        ({"x": 100, "radius": 10}, "y"),
        ({"x": "left", "y": 1, "radius": 10}, "x"),
    ],
)
def test_bad_roi_is_422(client, opened, case_png, body, fragment):
    r = client.post(f"/api/images/{opened}/analyse", json=body)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]
    assert_still_serving(client, case_png)


def test_unknown_image_or_result_is_404(client, opened):
    assert client.post("/api/images/nope/analyse", json={"x": 1, "y": 1, "radius": 1}).status_code == 404
    assert client.get(f"/api/images/{opened}/results/nope/overlay.png").status_code == 404


def test_candidates_lie_on_the_image(client, case, opened):
    r = client.post(f"/api/images/{opened}/candidates", json={"pixel_spacing_mm": case.pixel_spacing_mm})
    assert r.status_code == 200, r.text
    found = r.json()["candidates"]
    assert found, "the synthetic case has a mass and a cluster; expected candidates"
    rows, cols = case.pixels.shape
    for c in found:
        assert 0 <= c["x"] < cols and 0 <= c["y"] < rows and c["radius"] > 0
    # Some candidate is near a true lesion (in the uploaded image's coordinates).
    truth = [case.calc_roi, case.mass_roi]
    assert any(math.hypot(c["x"] - t[0], c["y"] - t[1]) < t[2] + c["radius"] for c in found for t in truth)


# --- with a model ----------------------------------------------------------------------


def test_probability_round_trip_with_a_model(case, case_dicom, model_dir, caplog):
    """DICOM upload -> segment -> features -> probability, checked against the library."""
    from mammocad.features import FEATURE_NAMES
    from mammocad.io import ROI, Mammogram
    from mammocad.models import load_model
    from mammocad.pipeline import analyse_lesion

    client = client_for(create_app(model_dir=model_dir))
    status = client.get("/api/status").json()
    trained = load_model(model_dir)
    recorded_auc = trained.metadata["metadata"]["metrics"]["test_auc"]
    assert 0.5 < recorded_auc <= 1.0
    assert status["model"] == {"name": "lda-fixture", "test_auc": recorded_auc, "n_features": 41}
    caplog.set_level(logging.DEBUG)
    image_id = upload(client, case_dicom, "study.dcm").json()["image_id"]
    response = analyse(client, image_id, case.mass_roi)
    result = response.json()
    assert 0.0 <= result["probability"] <= 1.0
    assert result["model"]["name"] == "lda-fixture"
    # The same probability as the library gives for the same lesion.
    mg = Mammogram(case.pixels.astype(np.float32) * 16, pixel_spacing_mm=case.pixel_spacing_mm)
    values = analyse_lesion(mg, ROI(*case.mass_roi)).features
    row = np.array([[values[name] for name in FEATURE_NAMES]])
    assert result["features"] == pytest.approx(values, rel=1e-9, abs=1e-12)
    assert result["probability"] == pytest.approx(trained.estimator.predict_proba(row)[0, 1], abs=1e-9)
    exported = client.get(result["exports"]["result_json"]).text
    assert json.loads(exported)["probability"] == result["probability"]
    for identifier in IDENTIFIERS:
        assert identifier not in response.text + exported + caplog.text


def test_bad_model_dir_fails_at_start(tmp_path):
    from mammocad.errors import MammocadError

    pytest.importorskip("mammocad.models")
    with pytest.raises(MammocadError):
        create_app(model_dir=tmp_path / "no-model-here")


def test_bad_limits_are_refused():
    from mammocad.errors import MammocadError

    with pytest.raises(MammocadError, match="max_upload_mb"):
        create_app(max_upload_mb=0)


def test_png_helper_round_trips():
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(pixels)))), pixels)
