"""The viewer's web application: a FastAPI app over the mammocad library.

:func:`create_app` builds the ASGI app that ``mammocad serve`` runs with uvicorn.
The page (``static/``: plain HTML, JavaScript and CSS, no build step) talks to a
small JSON API:

==========================================  =================================================
``GET  /api/status``                        version, loaded model (name, test AUC), limits
``GET  /api/features``                      the 41 features: name, group, unit, definition
``POST /api/images``                        upload an image (raw bytes; name in ``X-Filename``)
``GET  /api/images/{id}/display.png``       the image as 8-bit greyscale PNG
``POST /api/images/{id}/candidates``        automatic lesion candidates
``POST /api/images/{id}/analyse``           segment an ROI, features, malignancy probability
``GET  /api/images/{id}/results/{rid}/…``   ``overlay.png`` and ``result.json`` exports;
                                            ``dicom.zip`` (SEG + SR) of a DICOM image
``GET  /api/data``                          images and lesion tables under ``--data``
``POST /api/data/table``, ``/api/data/open``  read a table, open an image from ``--data``
==========================================  =================================================

Security: requests must name a local host (``Host``: 127.0.0.1, localhost or
[::1]; 400 otherwise) unless the viewer serves the network; requests that change
state (every POST) or return patient data (``dicom.zip``) must carry the header
``X-Mammocad-Request: 1``, which the page sends and a page elsewhere cannot send
without the browser asking first, and must not come from another origin (403): a
cross-site form or ``text/plain`` POST, or a link to the zip, is refused. Uploads are limited in size while they stream (413), accepted
only when their content is an image type mammocad reads (415), checked for their
pixel count from the header before decoding (422), kept in memory only (an LRU of
a few images under random ids), and never written where a request can name; data
paths are confined to the data folder (400/404). Decoding and analyses run in a
bounded pool (:mod:`mammocad.viewer.workers`): when it is full the answer is 429,
so that the page and ``/api/status`` stay responsive. Of a DICOM image the
store keeps its header in memory (:mod:`mammocad.viewer.store`) for the DICOM
export only: no JSON answer carries anything of it beyond spacing, laterality
and view, the only answer that does is the ``dicom.zip`` download (the SEG and SR
copy the patient and study context, as the standard requires), and the log
carries exception types and our own messages only, never a header value.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mammocad.errors import MammocadError, ROIError
from mammocad.io import ROI, Mammogram, check_pixel_spacing
from mammocad.viewer.analysis import (
    analyse,
    analysis_to_dict,
    dicom_zip,
    display_png,
    feature_catalogue,
    find_candidates,
    load_model_info,
    overlay_png,
)
from mammocad.viewer.datadir import DataFolder, DataPathError
from mammocad.viewer.store import ImageStore, StoredImage
from mammocad.viewer.uploads import (
    SNIFF_BYTES,
    UploadError,
    check_filename,
    open_upload,
    require_image_type,
    source_header,
)
from mammocad.viewer.workers import PoolBusy, WorkPool

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = ["create_app", "DEFAULT_MAX_UPLOAD_MB", "LOCAL_HOSTS", "SAME_ORIGIN_HEADER"]

#: Host names a default viewer answers to (requests naming another host get 400).
LOCAL_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

#: Header every state-changing request must carry with the value "1" (the page's
#: app.js sends it; a page elsewhere cannot without a CORS preflight we never grant).
SAME_ORIGIN_HEADER = "X-Mammocad-Request"

#: Analyses (and image decodings) running at the same time, and waiting behind them.
DEFAULT_WORKERS = 2
DEFAULT_QUEUE = 8

#: Default largest upload, in megabytes (10**6 bytes).
DEFAULT_MAX_UPLOAD_MB = 40.0

STATIC_DIR = Path(__file__).parent / "static"

log = logging.getLogger("mammocad.viewer")


class _ROIBody(BaseModel):
    x: float = Field(description="ROI centre column, in image pixels")
    y: float = Field(description="ROI centre row, in image pixels")
    radius: float = Field(description="ROI radius, in image pixels")
    pixel_spacing_mm: float | None = Field(default=None, description="used where the image has none")


class _SpacingBody(BaseModel):
    pixel_spacing_mm: float | None = None


class _DataPathBody(BaseModel):
    path: str
    pixel_spacing_mm: float | None = Field(default=None, description="the lesion table row's")
    nominal_pixel_spacing_mm: float | None = Field(default=None, description="the dataset's documented value")


def create_app(
    *,
    model_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
    max_images: int = 4,
    allowed_hosts: Sequence[str] | None = LOCAL_HOSTS,
    workers: int = DEFAULT_WORKERS,
    queue: int = DEFAULT_QUEUE,
) -> FastAPI:
    """Build the viewer's ASGI application.

    Parameters
    ----------
    model_dir : path-like, optional
        A model saved with :func:`mammocad.models.save_model`; loaded now, and
        used for the malignancy probability. Without it the page says that no
        model is loaded.
    data_dir : path-like, optional
        The only folder the page may open images and lesion tables from.
    max_upload_mb : float
        Largest accepted upload in megabytes (10**6 bytes); larger ones are
        refused with 413 as soon as the limit is passed.
    max_images : int
        How many open images the server keeps in memory.
    allowed_hosts : sequence of str or None
        Host names a request's ``Host`` header may carry (others get 400). The
        default, :data:`LOCAL_HOSTS`, stops web pages elsewhere from reaching a
        viewer on this computer through DNS rebinding; ``None`` or ``["*"]``
        accepts any (for a viewer served on the network). IPv6 addresses are
        given without brackets (``"::1"``).
    workers, queue : int
        Image decodings and analyses run at the same time, and requests allowed
        to wait for them; one more is answered 429 at once.

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    ModelError
        If ``model_dir`` does not hold a loadable model.
    MammocadError
        If ``data_dir`` is not a folder or a limit is not positive.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> client = TestClient(create_app(), base_url="http://127.0.0.1")
    >>> client.get("/api/status").json()["model"] is None
    True
    """
    if not (math.isfinite(max_upload_mb) and max_upload_mb > 0):
        raise MammocadError(f"max_upload_mb must be a positive number, got {max_upload_mb}")
    if max_images < 1:
        raise MammocadError(f"max_images must be >= 1, got {max_images}")
    pool = WorkPool(workers=workers, queue=queue)
    _quiet_dicom_reader_logs()
    from mammocad import __version__

    model = load_model_info(str(model_dir)) if model_dir is not None else None
    data = DataFolder(data_dir) if data_dir is not None else None
    max_bytes = int(max_upload_mb * 1_000_000)
    store = ImageStore(max_images=max_images)

    app = FastAPI(title="mammocad viewer", version=__version__, docs_url=None, redoc_url=None)
    app.state.model = model
    app.state.data = data
    app.state.store = store
    app.state.max_upload_bytes = max_bytes
    app.state.pool = pool
    _install_error_handlers(app)
    hosts = (
        None if allowed_hosts is None or "*" in allowed_hosts else frozenset(h.lower() for h in allowed_hosts)
    )
    app.add_middleware(_Guard, allowed_hosts=hosts, pool=pool)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/api/status")
    async def status() -> dict[str, Any]:
        return {
            "version": __version__,
            "model": None if model is None else model.to_dict(),
            "model_message": (
                f"Model {model.name!r} loaded."
                if model is not None
                else "No model loaded: start the viewer with --model MODEL_DIR to see a malignancy probability."
            ),
            "data": data is not None,
            "max_upload_bytes": max_bytes,
            "max_images": store.max_images,
            "workers": pool.workers,
            "queue": pool.queue,
            "busy": pool.held,
        }

    @app.get("/api/features")
    async def features() -> list[dict[str, Any]]:
        return feature_catalogue()

    @app.post("/api/images")
    async def upload(request: Request) -> dict[str, Any]:
        name = check_filename(unquote(request.headers.get("x-filename", "")))
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/"):
            raise UploadError(
                f"{name}: send the image bytes as the request body (e.g. curl --data-binary @FILE "
                "-H 'X-Filename: FILE'), not as a multipart form",
                status_code=415,
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(name, max_bytes)
        # A place in the pool before the body is read: bodies in memory are bounded too.
        ticket = pool.ticket()
        try:
            received = bytearray()
            sniffed = False
            async for chunk in request.stream():
                received += chunk
                if len(received) > max_bytes:
                    raise _too_large(name, max_bytes)
                if not sniffed and len(received) >= SNIFF_BYTES:
                    require_image_type(received, name)
                    sniffed = True
            if not sniffed and received:
                require_image_type(received, name)
            data = bytes(received)
            del received
        except BaseException:
            ticket.cancel()
            raise
        entry = await run_in_threadpool(ticket.run, _open_upload, store, data, name)
        return _image_info(entry)

    @app.get("/api/images/{image_id}")
    async def image_info(image_id: str) -> dict[str, Any]:
        return _image_info(_entry(store, image_id))

    @app.get("/api/images/{image_id}/display.png")
    async def image_png(image_id: str) -> Response:
        return Response(_entry(store, image_id).display_png, media_type="image/png")

    @app.post("/api/images/{image_id}/candidates")
    @pool.bounded
    def candidates(image_id: str, body: _SpacingBody | None = None) -> dict[str, Any]:
        entry = _entry(store, image_id)
        spacing = _spacing(body.pixel_spacing_mm if body is not None else None)
        return {"candidates": find_candidates(entry.mammogram, pixel_spacing_mm=spacing)}

    @app.post("/api/images/{image_id}/analyse")
    @pool.bounded
    def analyse_roi(image_id: str, body: _ROIBody) -> dict[str, Any]:
        entry = _entry(store, image_id)
        roi = ROI(body.x, body.y, body.radius).check_size(entry.mammogram.shape)
        body.pixel_spacing_mm = _spacing(body.pixel_spacing_mm)
        if not roi.overlaps(entry.mammogram.shape):
            raise ROIError(
                f"ROI centre ({roi.x:g}, {roi.y:g}) radius {roi.radius:g} lies outside the "
                f"{entry.mammogram.shape[1]}x{entry.mammogram.shape[0]} image"
            )
        result = analyse(entry.mammogram, roi, pixel_spacing_mm=body.pixel_spacing_mm, model=model)
        payload = analysis_to_dict(result, model=model)
        payload["image"] = {
            "name": entry.name,
            "width": entry.mammogram.shape[1],
            "height": entry.mammogram.shape[0],
        }
        result_id = store.add_result(entry, (result, payload))
        payload["result_id"] = result_id
        base = f"/api/images/{image_id}/results/{result_id}"
        payload["exports"] = {"overlay_png": f"{base}/overlay.png", "result_json": f"{base}/result.json"}
        if entry.dicom_header is not None:
            payload["exports"]["dicom_zip"] = f"{base}/dicom.zip"
        return payload

    @app.get("/api/images/{image_id}/results/{result_id}/overlay.png")
    @pool.bounded
    def export_overlay(image_id: str, result_id: str) -> Response:
        entry = _entry(store, image_id)
        result, _ = _result(store, entry, result_id)
        return Response(
            overlay_png(result),
            media_type="image/png",
            headers={"Content-Disposition": f'attachment; filename="{_stem(entry.name)}-overlay.png"'},
        )

    @app.get("/api/images/{image_id}/results/{result_id}/dicom.zip")
    @pool.bounded
    def export_dicom(image_id: str, result_id: str) -> Response:
        entry = _entry(store, image_id)
        result, _ = _result(store, entry, result_id)
        if entry.dicom_header is None:
            raise HTTPException(
                status_code=404,
                detail=f"{entry.name}: not a DICOM image with the identifiers a DICOM SEG and SR must "
                "reference; DICOM export needs one",
            )
        return Response(
            dicom_zip(entry.dicom_header, result, model=model),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{_stem(entry.name)}-dicom.zip"'},
        )

    @app.get("/api/images/{image_id}/results/{result_id}/result.json")
    async def export_json(image_id: str, result_id: str) -> Response:
        entry = _entry(store, image_id)
        _, payload = _result(store, entry, result_id)
        exported = {k: v for k, v in payload.items() if k not in ("exports",)}
        exported["calcifications"] = {k: v for k, v in payload["calcifications"].items() if k != "layer"}
        exported["mammocad_version"] = __version__
        return Response(
            json.dumps(exported, indent=2),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{_stem(entry.name)}-result.json"'},
        )

    @app.get("/api/data")
    @pool.bounded
    def data_listing() -> dict[str, Any]:
        return _data(data).listing()

    @app.post("/api/data/table")
    @pool.bounded
    def data_table(body: _DataPathBody) -> dict[str, Any]:
        return {"path": body.path, "rows": _data(data).read_table(body.path)}

    @app.post("/api/data/open")
    @pool.bounded
    def data_open(body: _DataPathBody) -> dict[str, Any]:
        folder = _data(data)
        mammogram = folder.open_image(
            body.path,
            pixel_spacing_mm=_spacing(body.pixel_spacing_mm),
            nominal_pixel_spacing_mm=_spacing(body.nominal_pixel_spacing_mm),
        )
        header = source_header(folder.resolve(body.path))
        return _image_info(_store_image(store, body.path, mammogram, header))

    return app


def _too_large(name: str, max_bytes: int) -> HTTPException:
    return HTTPException(
        status_code=413,
        detail=f"{name}: upload is larger than the limit of {max_bytes / 1e6:g} MB "
        "(start the viewer with a larger --max-upload-mb to accept it)",
    )


def _store_image(
    store: ImageStore, name: str, mammogram: Mammogram, header: Dataset | None = None
) -> StoredImage:
    return store.add(name, mammogram, display_png(mammogram), dicom_header=header)


def _open_upload(store: ImageStore, data: bytes, name: str) -> StoredImage:
    mammogram, header = open_upload(data, name)
    return _store_image(store, name, mammogram, header)


def _spacing(value: float | None) -> float | None:
    """A pixel spacing from a request body: None, or a plausible number of millimetres (else 422)."""
    return None if value is None else check_pixel_spacing(value, where="pixel_spacing_mm")


def _image_info(entry: StoredImage) -> dict[str, Any]:
    mg = entry.mammogram
    return {
        "image_id": entry.image_id,
        "name": entry.name,
        "width": mg.shape[1],
        "height": mg.shape[0],
        "pixel_spacing_mm": mg.pixel_spacing_mm,
        "laterality": mg.laterality,
        "view": mg.view,
        "dicom": entry.dicom_header is not None,
        "display_url": f"/api/images/{entry.image_id}/display.png",
    }


def _entry(store: ImageStore, image_id: str) -> StoredImage:
    entry = store.get(image_id)
    if entry is None:
        raise HTTPException(
            status_code=404,
            detail="image not found: it was never opened, or it was dropped to make room; open it again",
        )
    return entry


def _result(store: ImageStore, entry: StoredImage, result_id: str) -> Any:
    result = store.get_result(entry, result_id)
    if result is None:
        raise HTTPException(status_code=404, detail="result not found: run the analysis again")
    return result


def _data(data: DataFolder | None) -> DataFolder:
    if data is None:
        raise HTTPException(status_code=404, detail="no data folder: start the viewer with --data DIR")
    return data


def _stem(name: str) -> str:
    stem = Path(name).stem or "mammogram"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)[:80]


def _install_error_handlers(app: FastAPI) -> None:
    """Map mammocad's errors to HTTP answers with a one-line ``detail``."""

    def _answer(status: int, message: str) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": message})

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, exc: UploadError) -> JSONResponse:
        return _answer(exc.status_code, str(exc))

    @app.exception_handler(DataPathError)
    async def data_path_error(request: Request, exc: DataPathError) -> JSONResponse:
        return _answer(exc.status_code, str(exc))

    @app.exception_handler(PoolBusy)
    async def pool_busy(request: Request, exc: PoolBusy) -> JSONResponse:
        answer = _answer(429, str(exc))
        answer.headers["Retry-After"] = str(exc.retry_after_s)
        return answer

    @app.exception_handler(MammocadError)
    async def mammocad_error(request: Request, exc: MammocadError) -> JSONResponse:
        return _answer(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request body"
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return _answer(422, "; ".join(parts) or "invalid request")


_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Requests that take a place in the work pool (see the ``pool.bounded`` handlers and uploads).
_HEAVY = re.compile(
    r"^(POST /api/images(/[^/]+/(candidates|analyse))?|POST /api/data/(open|table)|GET /api/data"
    r"|GET /api/images/[^/]+/results/[^/]+/(overlay\.png|dicom\.zip))$"
)

#: GET requests whose answer carries patient data: they need the same proof as a POST.
_PATIENT_DATA = re.compile(r"^/api/images/[^/]+/results/[^/]+/dicom\.zip$")


def _host_name(host_header: str) -> str:
    """The host of a ``Host`` header, without port or IPv6 brackets, lower case ("" if malformed).

    Examples
    --------
    >>> _host_name("[::1]:8000"), _host_name("LocalHost:8000"), _host_name("[::1].evil.example")
    ('::1', 'localhost', '')
    """
    match = _HOST.fullmatch(host_header.strip().lower())
    if match is None:
        return ""
    return match.group("ipv6") or match.group("name")


_HOST = re.compile(r"(\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(:\d{1,5})?")


class _Guard:
    """Host check, same-origin proof for state-changing requests, and last-resort errors.

    Pure ASGI, so that an exception never travels further up the stack (where the
    server would log it with its message, which may quote a file's content).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str] | None, pool: WorkPool) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if (
            refusal is None
            and self.pool.full()
            and _HEAVY.match(f"{scope.get('method')} {scope.get('path')}")
        ):
            # Refused here, before a body is parsed or a thread woken: a crowd of retries
            # costs the server next to nothing.
            refusal = (429, str(self.pool.busy()))
        if refusal is not None:
            await self._send(send, *refusal)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            # The type and the place only: messages from deep inside readers may quote file content.
            log.error(
                "internal error on %s %s: %s", scope.get("method"), scope.get("path"), type(exc).__name__
            )
            if not started:
                await self._send(
                    send, 500, f"internal error ({type(exc).__name__}); the server is still running"
                )

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = _host_name(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return 400, "invalid host name: this viewer answers to local host names only"
        if scope.get("method", "GET").upper() not in _STATE_CHANGING and not _PATIENT_DATA.match(
            str(scope.get("path", ""))
        ):
            return None
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, "cross-site request refused: open the viewer's own page to do this"
        origin = headers.get("origin")
        if origin is not None:
            scheme = scope.get("scheme", "http")
            if origin.lower() != f"{scheme}://{headers.get('host', '').strip().lower()}":
                return 403, "cross-origin request refused: open the viewer's own page to do this"
        if headers.get(SAME_ORIGIN_HEADER.lower()) != "1":
            return 403, (
                f"request refused: requests that change state or return patient data need the header "
                f"'{SAME_ORIGIN_HEADER}: 1' (the viewer's page sends it)"
            )
        return None

    @staticmethod
    async def _send(send: Send, status: int, message: str) -> None:
        body = json.dumps({"detail": message}).encode("utf-8")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 429:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _NoValues(logging.Filter):
    """Drops pydicom's value-validation messages: they quote header values (a name in a number)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _quiet_dicom_reader_logs() -> None:
    """Keep DICOM header values out of the server's log (pydicom warns and logs them verbatim)."""
    import warnings

    logger = logging.getLogger("pydicom")
    if not any(isinstance(f, _NoValues) for f in logger.filters):
        logger.addFilter(_NoValues())
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\.|$)")
