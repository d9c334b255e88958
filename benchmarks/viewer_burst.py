"""The viewer under a burst of analyses: status latency during it, memory after it.

A real viewer (``uvicorn`` in a child process, loopback only) opens one mammogram;
then, three times, 200 clients ask at once for an analysis of it (bounded loop:
each client retries after a 429 until its analysis is done or its 300 attempts are
used up) while another process asks for ``/api/status`` every 0.1 s. Measured: the
status latency during the bursts (p50, p95, max), the server's resident memory
(RSS, from /proc) before the first burst and after each one, and the analyses done
and 429 answers per burst.

Goals (issue 16): status p95 < 0.5 s during the bursts; RSS after three bursts
within 20 % of RSS after one.

    MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/viewer_burst.py
    ... --workers 40 --queue 160     # the same burst with an effectively unbounded pool

Uses mini-MIAS mdb209 (1024 x 1024, 0.2 mm) from MAMMOCAD_DATA when present, else
a synthetic 1024-pixel case. Writes benchmarks/results/viewer_burst.json (or the
file given with --out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MIAS_FILM = "mias/mdb209.png"
MIAS_ROI = (647.0, 521.0, 87.0)  # x, y, radius in pixels: the calcification cluster of mdb209 (Info.txt)
PAGE_HEADERS = {"X-Mammocad-Request": "1"}  # what the viewer's page sends

SERVER = """
import sys, uvicorn
from mammocad.viewer import create_app
port, workers, queue = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
uvicorn.run(
    create_app(workers=workers, queue=queue),
    host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=60,
)
"""


# Polls /api/status every 0.1 s until its stdin closes, then prints the latencies (JSON). A
# process of its own, so that the client's 200 analysts cannot delay its measurements.
WATCHER = """
import http.client, json, select, sys, time
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
latencies = []
while True:
    t0 = time.perf_counter()
    conn.request("GET", "/api/status")
    response = conn.getresponse()
    response.read()
    latencies.append(time.perf_counter() - t0)
    if response.status != 200:
        sys.exit(f"status answered {response.status}")
    if select.select([sys.stdin], [], [], 0.1)[0]:
        break
print(json.dumps(latencies))
"""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _input(data_root: Path | None, tmp: Path) -> tuple[Path, tuple[float, float, float], float, str]:
    if data_root is not None and (data_root / MIAS_FILM).is_file():
        return data_root / MIAS_FILM, MIAS_ROI, 0.2, f"MAMMOCAD_DATA/{MIAS_FILM}"
    from PIL import Image

    from mammocad.synth import make_case

    case = make_case(0, abnormality="calcification", pathology="malignant", size=1024)
    path = tmp / "synthetic.png"
    Image.fromarray(case.mammogram.pixels).save(path)
    lesion = case.lesions[0]
    roi = (float(lesion.x), float(lesion.y), float(lesion.radius))
    return path, roi, float(case.mammogram.pixel_spacing_mm), "synthetic 1024 px (make_case seed 0)"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _burst(
    base: str, port: int, image_id: str, body: dict[str, Any], clients: int, attempts: int
) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    done = 0
    busy = 0
    resets = 0
    failed: list[str] = []
    rng = random.Random(0)

    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits, headers=PAGE_HEADERS) as client:

        async def analyst() -> None:
            nonlocal done, busy, resets
            for _ in range(attempts):
                try:
                    r = await client.post(f"/api/images/{image_id}/analyse", json=body)
                except httpx.TransportError:  # a kept-alive connection closed as it was reused
                    resets += 1
                    continue
                if r.status_code == 200:
                    done += 1
                    return
                if r.status_code != 429:
                    failed.append(f"{r.status_code}: {r.text[:200]}")
                    return
                busy += 1
                await asyncio.sleep(float(r.headers.get("retry-after", "1")) * (0.5 + rng.random()))
            failed.append("gave up after the last attempt")

        watcher = subprocess.Popen(
            [sys.executable, "-c", WATCHER, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        t0 = time.perf_counter()
        await asyncio.gather(*(analyst() for _ in range(clients)))
        wall = time.perf_counter() - t0
        out, _ = watcher.communicate("stop\n", timeout=120)
        if watcher.returncode != 0:
            raise RuntimeError(f"the status watcher failed (exit code {watcher.returncode})")
        latencies: list[float] = json.loads(out)
    return {
        "clients": clients,
        "analyses_done": done,
        "answers_429": busy,
        "connection_resets": resets,
        "failed": failed[:5],
        "n_failed": len(failed),
        "wall_s": wall,
        "status_requests": len(latencies),
        "status_latency_s": {
            "p50": statistics.median(latencies),
            "p95": _percentile(latencies, 95),
            "max": max(latencies),
        },
        "_latencies": latencies,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("MAMMOCAD_DATA"))
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--attempts", type=int, default=300, help="most tries per client (bounded loop)")
    parser.add_argument(
        "--workers", type=int, default=None, help="viewer pool workers (default: the viewer's)"
    )
    parser.add_argument("--queue", type=int, default=None, help="viewer pool queue (default: the viewer's)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "viewer_burst.json"))
    args = parser.parse_args()

    import httpx

    from mammocad._fileio import atomic_write_text
    from mammocad.viewer.app import DEFAULT_QUEUE, DEFAULT_WORKERS

    workers = DEFAULT_WORKERS if args.workers is None else args.workers
    queue = DEFAULT_QUEUE if args.queue is None else args.queue
    tmp = Path(tempfile.mkdtemp(prefix="mammocad-burst-"))
    path, (x, y, radius), spacing, source = _input(Path(args.data) if args.data else None, tmp)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(workers), str(queue)],
        env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/api/status", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the viewer did not start") from None
                time.sleep(0.2)
        r = httpx.post(
            f"{base}/api/images",
            content=path.read_bytes(),
            headers={**PAGE_HEADERS, "X-Filename": path.name},
            timeout=120,
        )
        r.raise_for_status()
        image_id = r.json()["image_id"]
        body = {"x": x, "y": y, "radius": radius, "pixel_spacing_mm": spacing}
        httpx.post(
            f"{base}/api/images/{image_id}/analyse", json=body, headers=PAGE_HEADERS, timeout=300
        ).raise_for_status()  # warm: imports, first allocations
        time.sleep(1.0)
        rss = {"before_bursts": _rss_mb(server.pid)}
        bursts = []
        for number in range(1, args.bursts + 1):
            result = asyncio.run(_burst(base, port, image_id, body, args.clients, args.attempts))
            time.sleep(2.0)  # let the last responses and frees settle
            result["rss_after_mb"] = _rss_mb(server.pid)
            rss[f"after_burst_{number}"] = result["rss_after_mb"]
            bursts.append(result)
            lat = result["status_latency_s"]
            print(
                f"burst {number}: {result['analyses_done']}/{args.clients} analyses in {result['wall_s']:.1f} s, "
                f"{result['answers_429']} x 429; status p50 {lat['p50'] * 1000:.0f} ms, "
                f"p95 {lat['p95'] * 1000:.0f} ms, max {lat['max'] * 1000:.0f} ms; RSS {result['rss_after_mb']:.0f} MB",
                flush=True,
            )
    finally:
        if server.poll() is not None:
            print(f"the viewer exited with code {server.returncode}", file=sys.stderr)
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    every = [v for b in bursts for v in b.pop("_latencies")]
    p95 = _percentile(every, 95)
    rss_ratio = rss[f"after_burst_{args.bursts}"] / rss["after_burst_1"]
    result_json = {
        "benchmark": "viewer_burst",
        "command": "MAMMOCAD_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/viewer_burst.py"
        + ("" if args.workers is None else f" --workers {workers}")
        + ("" if args.queue is None else f" --queue {queue}"),
        "input": source,
        "roi": {"x": x, "y": y, "radius": radius, "pixel_spacing_mm": spacing},
        "pool": {"workers": workers, "queue": queue},
        "clients_per_burst": args.clients,
        "bursts": bursts,
        "status_latency_s_all_bursts": {"p50": statistics.median(every), "p95": p95, "max": max(every)},
        "rss_mb": rss,
        "rss_last_over_first_burst": rss_ratio,
        "goals": {
            "status_p95_below_0_5_s": p95 < 0.5,
            "rss_after_last_within_20_percent_of_after_first": abs(rss_ratio - 1) <= 0.2,
        },
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
    }
    atomic_write_text(args.out, json.dumps(result_json, indent=2, allow_nan=False) + "\n")
    print(
        f"status p95 over all bursts {p95 * 1000:.0f} ms (goal < 500 ms); RSS after burst {args.bursts} / "
        f"after burst 1 = {rss_ratio:.3f} (goal within 20 %); wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
