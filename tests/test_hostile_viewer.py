"""Hostile requests to the viewer (issue 16): each answered 4xx with a JSON reason, memory bounded.

Cross-site requests (what any web page can make a browser send), foreign host
names (DNS rebinding, IPv6 included), images whose header claims gigapixels,
DICOM values where numbers belong, absurd ROIs and spacings, paths out of the data
folder. Every answer must be a 4xx (or the documented 429/500) with a one-line
JSON ``detail``, the server must keep serving, its log must carry no header
value, and the request must not raise the process's peak memory by more than
:data:`REQUEST_MB` (read from /proc, reset before each request).
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from _hostile import (
    LINUX_ONLY,
    deflated_dicom,
    dicom_bytes,
    dicom_dataset,
    dicom_jpeg_larger_than_header,
    png_bytes,
    png_claiming,
    tiff_claiming,
    with_raw_value,
)
from mammocad.viewer import LOCAL_HOSTS, create_app

pytestmark = LINUX_ONLY

#: Peak memory one hostile request may add to the server process (MB).
REQUEST_MB = 150
PAGE = {"X-Mammocad-Request": "1"}


def _status_mb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(field_name)


def _measured(call: Callable[[], Any]) -> tuple[Any, int]:
    """``call()`` and how far it raised this process's peak resident memory (MB)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_mb("VmRSS")
    result = call()
    return result, _status_mb("VmHWM") - before


@dataclass(frozen=True)
class Request:
    name: str
    method: str
    path: str  # "{image}" is replaced by an opened image's id, "{tiny}" by a 1x1 image's
    status: int
    detail: str  # a fragment of the JSON detail
    headers: dict[str, str] = field(default_factory=dict)
    page: bool = True  # send the page's header
    body: bytes | Callable[[], bytes] | None = None
    json_body: Any = None


def _dicom_frames_secret() -> bytes:
    ds = dicom_dataset(np.full((64, 64), 100, np.uint16))
    ds.NumberOfFrames = "123456789012"
    return with_raw_value(dicom_bytes(ds), b"123456789012", b"SECRET^NAME ")


def _upload(name: str, data: bytes | Callable[[], bytes], status: int, detail: str, **kw: Any) -> Request:
    headers = {"Content-Type": "application/octet-stream", "X-Filename": name, **kw.pop("headers", {})}
    return Request(
        name=f"upload_{name}",
        method="POST",
        path="/api/images",
        status=status,
        detail=detail,
        headers=headers,
        body=data,
        **kw,
    )


def _analyse(
    name: str, body: Any, status: int, detail: str, path: str = "/api/images/{image}/analyse"
) -> Request:
    return Request(name=name, method="POST", path=path, status=status, detail=detail, json_body=body)


GOOD = png_bytes(np.tile(np.linspace(20, 220, 256), (256, 1)).astype(np.uint8))

REQUESTS: list[Request] = [
    # Cross-site: what any web page can make the browser send (accepted before).
    _upload(
        "cross.png",
        GOOD,
        403,
        "refused",
        page=False,
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    ),
    _upload(
        "form.png",
        GOOD,
        403,
        "X-Mammocad-Request",
        page=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    _upload("origin.png", GOOD, 403, "cross-origin", headers={"Origin": "http://evil.example"}),
    _upload("null.png", GOOD, 403, "cross-origin", headers={"Origin": "null"}),
    _upload("port.png", GOOD, 403, "cross-origin", headers={"Origin": "http://127.0.0.1:3000"}),
    _upload("fetch.png", GOOD, 403, "cross-site", headers={"Sec-Fetch-Site": "cross-site"}),
    _upload("sibling.png", GOOD, 403, "cross-site", headers={"Sec-Fetch-Site": "same-site"}),
    Request(
        "analyse_cross_site",
        "POST",
        "/api/images/{image}/analyse",
        403,
        "X-Mammocad-Request",
        page=False,
        json_body={"x": 100, "y": 100, "radius": 20},
    ),
    Request(
        "data_open_cross_site",
        "POST",
        "/api/data/open",
        403,
        "X-Mammocad-Request",
        page=False,
        json_body={"path": "good.png"},
    ),
    # Foreign host names (DNS rebinding), IPv6 included.
    Request("host_evil", "GET", "/api/status", 400, "host", headers={"Host": "evil.example"}),
    Request("host_evil_with_port", "GET", "/api/status", 400, "host", headers={"Host": "evil.example:8000"}),
    Request(
        "host_ipv6_not_loopback", "GET", "/api/status", 400, "host", headers={"Host": "[2001:db8::1]:8000"}
    ),
    Request("host_ipv6_lookalike", "GET", "/api/status", 400, "host", headers={"Host": "[::1].evil.example"}),
    Request("host_empty", "GET", "/api/status", 400, "host", headers={"Host": ""}),
    # Uploads that claim gigantic images, or carry values where numbers belong.
    _upload("huge.png", png_claiming(30000, 30000), 422, "larger than the limit"),
    _upload("huge.tif", tiff_claiming(40000, 40000), 422, "larger than the limit"),
    _upload("deflated.dcm", lambda: deflated_dicom(8200, 8200), 422, "larger than the limit"),
    _upload("bomb.dcm", lambda: deflated_dicom(64, 64, trailing_zeros=100 * 2**20), 422, "far more data"),
    _upload("jpeg.dcm", dicom_jpeg_larger_than_header, 422, "4000x4000 image, but the header says 64x64"),
    _upload("frames.dcm", _dicom_frames_secret, 422, "NumberOfFrames is not a whole number"),
    _upload("declared.png", GOOD, 413, "larger than the limit", headers={"Content-Length": str(10**12)}),
    _upload("..%2Fescape.png", GOOD, 400, "plain file name"),
    _upload("text.png", b"%PDF-1.7 not an image", 415, "not an image"),
    # ROIs and spacings (the overlay circle and structuring elements grew without bound).
    _analyse("roi_radius_1e7", {"x": 100, "y": 100, "radius": 1e7, "pixel_spacing_mm": 0.1}, 422, "diagonal"),
    _analyse(
        "roi_radius_1e300", {"x": 100, "y": 100, "radius": 1e300, "pixel_spacing_mm": 0.1}, 422, "diagonal"
    ),
    _analyse("roi_outside", {"x": 9000, "y": 9000, "radius": 10, "pixel_spacing_mm": 0.1}, 422, "outside"),
    _analyse(
        "roi_negative_radius", {"x": 100, "y": 100, "radius": -1, "pixel_spacing_mm": 0.1}, 422, "radius"
    ),
    _analyse(
        "spacing_0_002", {"x": 100, "y": 100, "radius": 20, "pixel_spacing_mm": 0.002}, 422, "plausible"
    ),
    _analyse(
        "spacing_negative", {"x": 100, "y": 100, "radius": 20, "pixel_spacing_mm": -0.1}, 422, "plausible"
    ),
    _analyse(
        "spacing_1e308", {"x": 100, "y": 100, "radius": 20, "pixel_spacing_mm": 1e308}, 422, "plausible"
    ),
    _analyse(
        "candidates_spacing_0",
        {"pixel_spacing_mm": 0.0},
        422,
        "plausible",
        path="/api/images/{image}/candidates",
    ),
    _analyse(
        "tiny_image",
        {"x": 0, "y": 0, "radius": 1, "pixel_spacing_mm": 0.1},
        422,
        "too small",
        path="/api/images/{tiny}/analyse",
    ),
    _analyse("roi_fields_missing", {"x": 100}, 422, "radius"),
    _analyse("roi_not_numbers", {"x": "left", "y": 100, "radius": 20}, 422, "x"),
    Request(
        "roi_nan",
        "POST",
        "/api/images/{image}/analyse",
        422,
        "finite",
        headers={"Content-Type": "application/json"},
        body=b'{"x": NaN, "y": 100, "radius": 20}',
    ),
    Request(
        "body_not_json",
        "POST",
        "/api/images/{image}/analyse",
        422,
        "JSON",
        headers={"Content-Type": "application/json"},
        body=b"{not json",
    ),
    # Paths out of the data folder.
    _analyse(
        "data_path_nul", {"path": "good.png\x00.txt"}, 400, "forbidden character", path="/api/data/open"
    ),
    _analyse("data_path_up", {"path": "../etc/passwd"}, 400, "without '..'", path="/api/data/open"),
    _analyse("data_path_absolute", {"path": "/etc/passwd"}, 400, "relative", path="/api/data/open"),
    _analyse("data_table_up", {"path": "../x.csv"}, 400, "without '..'", path="/api/data/table"),
    # Unknown things.
    Request(
        "unknown_image",
        "POST",
        "/api/images/nope/analyse",
        404,
        "not found",
        json_body={"x": 1, "y": 1, "radius": 1},
    ),
    Request("wrong_method", "GET", "/api/images/{image}/analyse", 405, "Method Not Allowed"),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("viewer-data")
    (folder / "good.png").write_bytes(GOOD)
    return folder


@pytest.fixture(scope="module")
def served(data_dir: Path) -> dict[str, Any]:
    app = create_app(data_dir=data_dir)
    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    image = client.post("/api/images", content=GOOD, headers={**PAGE, "X-Filename": "good.png"}).json()
    tiny = client.post(
        "/api/images",
        content=png_bytes(np.zeros((1, 1), np.uint8)),
        headers={**PAGE, "X-Filename": "tiny.png"},
    ).json()
    return {"app": app, "client": client, "image": image["image_id"], "tiny": tiny["image_id"]}


def test_there_are_at_least_40_hostile_requests() -> None:
    assert len(REQUESTS) >= 40
    assert len({r.name for r in REQUESTS}) == len(REQUESTS)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.name)
def test_hostile_request_is_refused_with_a_json_reason(
    request_: Request, served: dict[str, Any], caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    client: TestClient = served["client"]
    path = request_.path.format(image=served["image"], tiny=served["tiny"])
    headers = {**(PAGE if request_.page else {}), **request_.headers}
    body = request_.body() if callable(request_.body) else request_.body
    kwargs: dict[str, Any] = {"headers": headers}
    if request_.json_body is not None:
        kwargs["json"] = request_.json_body
    elif body is not None:
        kwargs["content"] = body
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response, peak = _measured(lambda: client.request(request_.method, path, **kwargs))
    assert response.status_code == request_.status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    assert request_.detail.lower() in detail.lower(), detail
    assert peak < REQUEST_MB, f"peak memory rose by {peak} MB"
    told = caplog.text + response.text + " ".join(str(w.message) for w in caught)
    assert "SECRET" not in told
    assert client.get("/api/status").status_code == 200  # still serving


def test_the_page_itself_is_not_refused(served: dict[str, Any]) -> None:
    """Same-origin requests as the page makes them (Origin and Sec-Fetch-Site of its own) pass."""
    client: TestClient = served["client"]
    own = {**PAGE, "Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
    r = client.post(f"/api/images/{served['image']}/candidates", json={"pixel_spacing_mm": 0.1}, headers=own)
    assert r.status_code == 200, r.text
    assert client.get("/api/status", headers={"Host": "[::1]:8000"}).status_code == 200
    assert client.get("/api/status", headers={"Host": "localhost:8000"}).status_code == 200


def test_serve_on_ipv6_loopback_keeps_the_host_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mammocad serve --host ::1`` used to turn the Host check off."""
    import uvicorn
    from typer.testing import CliRunner

    from mammocad.cli import app

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda web_app, **kw: served.update(app=web_app, **kw))
    result = CliRunner().invoke(app, ["serve", "--host", "::1", "--port", "8123", "-q"])
    assert result.exit_code == 0, result.output
    assert "::1" in LOCAL_HOSTS and served["host"] == "::1"
    client = TestClient(served["app"], base_url="http://[::1]:8123")
    assert client.get("/api/status").status_code == 200
    assert client.get("/api/status", headers={"Host": "evil.example:8123"}).status_code == 400
    assert client.get("/api/status", headers={"Host": "[fe80::1]:8123"}).status_code == 400


def test_an_internal_error_logs_its_type_only(served: dict[str, Any], monkeypatch, caplog) -> None:
    """A DICOM value inside an exception message must not reach the log (it did, via a traceback)."""
    import mammocad.viewer.app as viewer_app

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("invalid literal for int() with base 10: 'SECRET^NAME'")

    monkeypatch.setattr(viewer_app, "find_candidates", explode)
    caplog.set_level(logging.DEBUG)
    client: TestClient = served["client"]
    r = client.post(f"/api/images/{served['image']}/candidates", json={"pixel_spacing_mm": 0.1}, headers=PAGE)
    assert r.status_code == 500 and r.json()["detail"].startswith("internal error (ValueError)")
    assert "ValueError" in caplog.text and "SECRET" not in caplog.text + r.text
    assert client.get("/api/status").status_code == 200


def test_a_full_pool_answers_429_then_serves_again(data_dir: Path) -> None:
    """No timing: the only place of a one-worker, no-queue pool is taken by hand."""
    app = create_app(workers=1, queue=0)
    client = TestClient(app, base_url="http://127.0.0.1", headers=PAGE)
    image = client.post("/api/images", content=GOOD, headers={"X-Filename": "good.png"}).json()["image_id"]
    body = {"x": 128, "y": 128, "radius": 20, "pixel_spacing_mm": 0.1}
    ticket = app.state.pool.ticket()
    try:
        for method, path, kwargs in (
            ("POST", f"/api/images/{image}/analyse", {"json": body}),
            ("POST", f"/api/images/{image}/candidates", {"json": {"pixel_spacing_mm": 0.1}}),
            ("POST", "/api/images", {"content": GOOD, "headers": {"X-Filename": "again.png"}}),
        ):
            busy = client.request(method, path, **kwargs)
            assert busy.status_code == 429, busy.text
            assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["detail"]
        status = client.get("/api/status")
        assert status.status_code == 200 and status.json()["busy"] == 1
        assert client.get(f"/api/images/{image}/display.png").status_code == 200  # light requests pass
    finally:
        ticket.cancel()
    assert client.post(f"/api/images/{image}/analyse", json=body).status_code == 200
    assert app.state.pool.held == 0


def test_dicom_values_never_reach_the_log(served: dict[str, Any], caplog) -> None:
    """A DICOM whose Pixel Spacing and Window Center hold a name: read or refused, never quoted."""
    caplog.set_level(logging.DEBUG)
    ds = dicom_dataset(np.full((64, 64), 100, np.uint16))
    ds.PixelSpacing = ["0.12345678", "0.12345678"]
    data = with_raw_value(dicom_bytes(ds), b"0.12345678\\0.12345678", b"SECRET^NAME\\0.1234567")
    client: TestClient = served["client"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = client.post("/api/images", content=data, headers={**PAGE, "X-Filename": "spacing.dcm"})
    assert r.status_code == 200 and r.json()["pixel_spacing_mm"] is None
    assert "SECRET" not in caplog.text + r.text + " ".join(str(w.message) for w in caught)


def test_result_export_is_plain_json(served: dict[str, Any]) -> None:
    """The exported JSON of an analysis is a download, never a page (no HTML, attachment)."""
    client: TestClient = served["client"]
    body = {"x": 128, "y": 128, "radius": 20, "pixel_spacing_mm": 0.1}
    r = client.post(f"/api/images/{served['image']}/analyse", json=body, headers=PAGE)
    assert r.status_code == 200, r.text
    exported = client.get(r.json()["exports"]["result_json"])
    assert exported.headers["content-disposition"].startswith("attachment")
    json.loads(exported.content)
    assert io.BytesIO(client.get(r.json()["exports"]["overlay_png"]).content).read(8) == b"\x89PNG\r\n\x1a\n"
