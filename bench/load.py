"""Drive one endpoint with wrk and read what it measured, and what the app logged meanwhile."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cpu import Snapshot, Spent, others_percent
from servers import BenchError, Server

REPLAY = Path(__file__).resolve().parent / "replay.lua"
TWILIO_TIMEOUT = "15s"  # Twilio gives up on a webhook after 15 seconds: so does wrk
FAULT = "fault in "  # what ivr/security.py logs when its safety net answers in place of a crash
GUNICORN_INFO = "[INFO]"
SAMPLE_LINES = 5


@dataclass(frozen=True)
class Wrk:
    """How hard to drive: wrk's threads and connections, and seconds per endpoint."""

    threads: int
    connections: int
    seconds: int


@dataclass(frozen=True)
class Load:
    """What one endpoint did under load."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors and timeouts (no answer within Twilio's 15 s)
    non_2xx: int
    fail_safe: int  # 200 answers that were the app's safety net catching a fault
    repeated: int  # times a wrk thread ran out of distinct requests and started over
    bytes_per_answer: float
    others_cpu_pct: float  # share of the CPUs that work other than this run's took meanwhile
    # CPU time the run spent per answer, in microseconds: gunicorn's processes, the database's
    # backends and wrk. With every CPU busy, the ratio to the baseline is about the ratio of
    # these; CPUs x 1,000,000 / this is about the most answers a second the machine gives.
    cpu_us: float
    # The same, by part: the app (gunicorn), the database's backends, wrk
    cpu_app_us: float
    cpu_database_us: float
    cpu_wrk_us: float
    log: tuple[str, ...]  # a few distinct lines the app or gunicorn logged meanwhile

    @property
    def clean(self) -> bool:
        """No error, no status other than 2xx, and no fault caught by the safety net."""
        return self.errors == 0 and self.non_2xx == 0 and self.fail_safe == 0

    def as_dict(self) -> dict[str, Any]:
        """For results.json."""
        return {**asdict(self), "log": list(self.log)}

    @classmethod
    def combined(cls, runs: Sequence[Load]) -> Load:
        """Several runs of one endpoint as one: counts added, req/s over the whole time, CPU
        per answer weighted by each run's answers, the slowest answer, the busiest moment
        elsewhere; and each percentile the median of the runs' (with four runs, the mean of
        the middle two). A VM stalls now and then for a moment: during one short run that
        made its p99 three or four times the others' (81 and 98 ms where the other seven
        runs gave 19 to 27), and a mean of the runs passed such a stall on to its menu's
        figure; the median does not, while a menu that is slower is slower in every run."""
        count = sum(r.requests for r in runs)
        seconds = sum(r.seconds for r in runs)

        def mean(name: str) -> float:
            weighted = sum(getattr(r, name) * r.requests for r in runs)
            return round(weighted / count, 3) if count else 0.0

        def middle(name: str) -> float:
            return round(statistics.median(getattr(r, name) for r in runs), 3) if runs else 0.0

        log = tuple(dict.fromkeys(line for r in runs for line in r.log))[:SAMPLE_LINES]
        return cls(
            requests=count,
            seconds=round(seconds, 2),
            rps=round(count / seconds, 1) if seconds else 0.0,
            p50_ms=middle("p50_ms"),
            p90_ms=middle("p90_ms"),
            p99_ms=middle("p99_ms"),
            max_ms=max(r.max_ms for r in runs),
            errors=sum(r.errors for r in runs),
            non_2xx=sum(r.non_2xx for r in runs),
            fail_safe=sum(r.fail_safe for r in runs),
            repeated=sum(r.repeated for r in runs),
            bytes_per_answer=round(mean("bytes_per_answer"), 1),
            others_cpu_pct=max(r.others_cpu_pct for r in runs),
            cpu_us=round(mean("cpu_us")),
            cpu_app_us=round(mean("cpu_app_us")),
            cpu_database_us=round(mean("cpu_database_us")),
            cpu_wrk_us=round(mean("cpu_wrk_us")),
            log=log,
        )


def per_answer(seconds: float, count: int) -> float:
    """CPU seconds spent on `count` answers, as whole microseconds an answer."""
    return round(seconds * 1e6 / count) if count else 0.0


def require_wrk() -> str:
    """The wrk executable (bench/run installs it)."""
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is not installed: run bench/run, or apt-get install wrk")
    return found


def run_wrk(base: str, requests: Path, wrk: Wrk) -> dict[str, Any]:
    """Run wrk with replay.lua over `requests`; the figures its done() prints."""
    command = [
        require_wrk(),
        f"--threads={wrk.threads}",
        f"--connections={wrk.connections}",
        f"--duration={wrk.seconds}s",
        f"--timeout={TWILIO_TIMEOUT}",
        f"--script={REPLAY}",
        f"{base}/",
        "--",
        str(requests),
        str(wrk.threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            figures: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
            return figures
    raise BenchError(f"wrk gave no figures ({done.returncode}):\n{done.stdout}{done.stderr}")


def drive(server: Server, requests: Path, wrk: Wrk) -> Load:
    """Load the server with the requests for wrk.seconds; what it measured.

    The backends of the server's PostgreSQL database (none on SQLite, nor for a baseline)
    count as the run's own CPU; any other server's, as other work.
    """
    offset = server.log_size()
    pids = [server.process.pid, *server.workers()]
    before, started = Snapshot.take(pids, server.database), time.monotonic()
    figures = run_wrk(server.base, requests, wrk)
    after, elapsed = Snapshot.take(pids, server.database), time.monotonic() - started
    spent = Spent.between(before, after)
    logged = server.log_since(offset)
    seconds = figures["duration_us"] / 1e6
    count = figures["requests"]
    return Load(
        requests=count,
        seconds=round(seconds, 2),
        rps=round(count / seconds, 1) if seconds else 0.0,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors=sum(figures[k] for k in ("connect", "read", "write", "timeout")),
        non_2xx=figures["non_2xx"],
        fail_safe=logged.count(FAULT),
        repeated=figures["wrapped"],
        bytes_per_answer=round(figures["bytes"] / count, 1) if count else 0.0,
        others_cpu_pct=others_percent(before, after, spent, elapsed),
        cpu_us=per_answer(spent.total, count),
        cpu_app_us=per_answer(spent.app, count),
        cpu_database_us=per_answer(spent.database, count),
        cpu_wrk_us=per_answer(spent.load, count),
        log=sample(logged),
    )


def sample(logged: str) -> tuple[str, ...]:
    """Up to SAMPLE_LINES distinct lines of a log, leaving out gunicorn's routine [INFO]."""
    seen: dict[str, None] = {}
    for line in logged.splitlines():
        if line.strip() and GUNICORN_INFO not in line:
            seen.setdefault(line.strip()[:300], None)
        if len(seen) >= SAMPLE_LINES:
            break
    return tuple(seen)
