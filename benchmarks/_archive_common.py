"""Shared helpers of the archive benchmarks: run a plain command, time it, watch its memory.

Not a benchmark itself (no ``main``): ``archive_e2e.py`` and ``features_dask.py`` use it.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_ARCHIVE = Path("/tmp/mammocad-archive/cbis-synthetic-1000")


@dataclass
class Run:
    """A finished command: wall seconds, CPU seconds (it and the processes it waited for), exit code,
    peak memory (MB) of each process it started."""

    command: list[str]
    seconds: float
    returncode: int
    stderr_tail: str
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = float("nan")

    def peak(self, role: str) -> float:
        values = [v for k, v in self.peak_rss_mb.items() if k.startswith(role)]
        return round(max(values), 1) if values else float("nan")


def env_one_thread() -> dict[str, str]:
    """The environment every timed command runs in: BLAS and OpenMP on one thread."""
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _role(proc: psutil.Process, top: int, watched: dict[int, str]) -> str:
    if proc.pid == top:
        return "main"
    name = " ".join(proc.cmdline()[:4])
    if "resource_tracker" in name or "semaphore_tracker" in name:
        return f"tracker-{proc.pid}"
    if "distributed" in name or "dask" in name or "spawn" in name or "multiprocessing" in name:
        return f"worker-{proc.pid}"
    return watched.get(proc.pid, f"child-{proc.pid}")


def run(command: list[str], *, extra: list[psutil.Process] | None = None, poll: float = 0.25) -> Run:
    """Run ``command`` and sample the RSS of it, its descendants and ``extra`` processes until it ends."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env_one_thread(), text=True
    )
    peaks: dict[str, float] = {}
    top = psutil.Process(proc.pid)
    watched = {p.pid: f"worker-{p.pid}" for p in (extra or [])}
    stderr_chunks: list[str] = []
    while proc.poll() is None:
        procs = [top, *(extra or [])]
        try:
            procs += top.children(recursive=True)
            for p in extra or []:
                procs += p.children(recursive=True)
        except psutil.Error:
            pass
        for p in procs:
            try:
                role = _role(p, top.pid, watched)
                peaks[role] = max(peaks.get(role, 0.0), p.memory_info().rss / 2**20)
            except psutil.Error:
                continue
        time.sleep(poll)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.stderr is not None:
        stderr_chunks.append(proc.stderr.read())
    tail = "".join(stderr_chunks)[-2000:]
    return Run(
        command,
        round(seconds, 2),
        proc.returncode,
        tail,
        {k: round(v, 1) for k, v in peaks.items()},
        round(cpu, 2),
    )


class DaskCluster:
    """``dask scheduler`` and N ``dask worker`` processes (1 thread each, no nanny, no profiler) on loopback."""

    def __init__(self, n_workers: int = 2) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        # Workers as docs/datasets.md recommends: no nanny, no statistical profiler.
        env = {**env_one_thread(), "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        self.scheduler = subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,
        )
        self.workers = [
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--no-nanny",
                ],
                **quiet,
            )
            for _ in range(n_workers)
        ]
        from distributed import Client

        start = time.perf_counter()
        with Client(self.address, timeout="120s") as client:
            client.wait_for_workers(n_workers, timeout=300)
        self.startup_seconds = round(time.perf_counter() - start, 2)

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(p.pid) for p in self.workers]

    def stop(self) -> None:
        for p in (*self.workers, self.scheduler):
            p.kill()
            p.wait()


def busy_ceiling(seconds: float = 8.0) -> dict[str, float]:
    """What 2 processes can get done against 1 on this machine now: a pure-CPU loop, side by side.

    One process loops for ``seconds`` and counts iterations; then two do the same
    at once. The ratio of the totals is the most a 2-worker run could gain at
    this moment (1.0 when the other core is taken, 2.0 when the machine is idle).
    """
    code = (
        "import time,sys\n"
        "n=0;end=time.perf_counter()+float(sys.argv[1])\n"
        "while time.perf_counter()<end:\n"
        "    n+=1\n"
        "print(n)\n"
    )

    def loops(k: int) -> int:
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(seconds)], stdout=subprocess.PIPE, text=True)
            for _ in range(k)
        ]
        return sum(int(p.communicate()[0]) for p in procs)

    one = loops(1)
    two = loops(2)
    return {"one_process_loops": one, "two_processes_loops": two, "ratio": round(two / one, 3)}


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]
