"""Load benchmark of the helpline (GitHub issue 11, item 3). bench/run calls this; see README.md.

In one run, each under gunicorn exactly as the Procfile's web: line starts it:

1. the helpline on a fresh SQLite file and on a fresh PostgreSQL database `bench`, a bare
   Flask baseline (bench/baseline.py) answering the same paths with fixed TwiML, and the
   floor (the same, with the form read and Twilio's signature checked), all serving at once
   on ports of their own, each endpoint driven on each in turn;
3. the helpline on a large menu (200 topics, 2,000 keywords), on the first engine;
4. a surge: the greeting, an SMS keyword and STOP with many more connections (--surge), on
   the first engine: whether every answer still comes within Twilio's 15 seconds.

Each endpoint is first checked with one request (a 200 with the TwiML the menu calls for),
then warmed up and driven by wrk with distinct, signed requests. The tables, with the
targets next to the figures, go to the terminal, bench/results.md and bench/results.json.
Exit status: 0 when it measured (targets missed or not), 1 when it could not run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bigmenu import LargeMenu, write_large_menu
from cpu import wait_for_quiet
from load import Load, Wrk, drive, require_wrk
from report import (
    TARGETS,
    as_markdown,
    as_text,
    change_pct,
    endpoint_misses,
    surge_misses,
)
from servers import (
    APP,
    BASELINE,
    FLOOR,
    ROOT,
    BenchError,
    Server,
    free_port,
    reset_postgres,
    run_release,
    serving,
)
from workload import Endpoint, MenuFacts, Serials, check, plan, post, write_requests

HERE = Path(__file__).resolve().parent
SHIPPED_MENUS = ROOT / "menus.yaml"
ENGINES = ("sqlite", "postgresql")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "bench"
OPEN_MOMENT = "2026-12-01T10:00:00-05:00"  # a Tuesday morning: the center is open
TOKEN = "bench-auth-token-0123456789abcdef"
SECRET = "bench-secret-key-0123456789abcdef"
# Requests written per endpoint, per second of load and per worker: well above what the
# helpline answers on one core, so no request is sent twice (the report flags it if one is).
# 1,500 was not: on an Intel Xeon the greeting reached 1,507 a worker-second.
REQUESTS_PER_WORKER_SECOND = 2500
MIN_REQUESTS = 5000
BUSY_ELSEWHERE_PCT = 10.0  # other work's share of the CPUs above which a note warns
# The large-menu comparison's runs: ABBA then BAAB, so that a drift steady over the whole
# comparison, or over each half, weighs on both menus alike.
LARGE_ORDER = ("shipped", "large", "large", "shipped", "large", "shipped", "shipped", "large")
SURGE = (128, 512)  # connections: 4 and 16 times the load's 32
SURGE_ENDPOINTS = ("greeting", "SMS keyword", "STOP")
SOURCES = ("ivr", "menus.yaml", "content", "migrations", "Procfile", "setup.py", "pyproject.toml")


@dataclass(frozen=True)
class Options:
    """What to run, from the command line."""

    workers: int
    wrk: Wrk
    warmup: int
    quiet_wait: int
    requests: int
    engines: tuple[str, ...]
    large: bool
    surge: tuple[int, ...]
    postgres: str
    now: str
    port: int
    out: Path

    @property
    def warmup_wrk(self) -> Wrk:
        """wrk as for the load, for the warm-up's seconds."""
        return Wrk(self.wrk.threads, self.wrk.connections, self.warmup)

    def per_endpoint(self, seconds: int) -> int:
        """Distinct requests to write for `seconds` of load on one endpoint."""
        if self.requests:
            return self.requests
        return max(MIN_REQUESTS, seconds * self.workers * REQUESTS_PER_WORKER_SECOND)


def parse(argv: Sequence[str] | None) -> Options:
    """Read the options; argparse exits 2 on a bad one."""
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY); default 2")
    add("--connections", type=int, default=32, help="wrk connections; default 32")
    add("--threads", type=int, default=2, help="wrk threads; default 2")
    add("--duration", type=int, default=20, help="seconds of load per endpoint; default 20")
    add("--warmup", type=int, default=2, help="seconds of warm-up per endpoint; default 2")
    add(
        "--quiet-wait",
        type=int,
        default=60,
        help="seconds to wait before each endpoint for other work to stop; default 60",
    )
    add("--requests", type=int, default=0, help="distinct requests per endpoint; default: enough")
    add("--engines", default=",".join(ENGINES), help="sqlite,postgresql (the default) or one")
    add("--no-large", action="store_true", help="skip the large-menu run")
    add(
        "--surge",
        default=",".join(map(str, SURGE)),
        help="connections for the surge run, comma-separated; default "
        f"{','.join(map(str, SURGE))}; '' skips it",
    )
    add("--postgres", default=PG_SERVER, help=f"PostgreSQL server; default {PG_SERVER}")
    add("--now", default=OPEN_MOMENT, help=f"IVR_NOW for the app; default {OPEN_MOMENT}")
    add("--port", type=int, default=0, help="port for the servers; default: a free one")
    add("--out", type=Path, default=HERE, help="where results.md and .json go; default bench/")
    args = parser.parse_args(argv)
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    if not engines or set(engines) - set(ENGINES):
        parser.error(f"--engines: one or both of {', '.join(ENGINES)}")
    if min(args.workers, args.duration) < 1 or min(args.warmup, args.quiet_wait) < 0:
        parser.error("--workers and --duration at least 1, --warmup and --quiet-wait 0 or more")
    if args.connections < args.threads:
        parser.error("--connections at least --threads")
    try:
        surge = tuple(int(level) for level in args.surge.split(",") if level.strip())
    except ValueError:
        parser.error("--surge: numbers of connections, comma-separated")
    if any(level < args.threads for level in surge):
        parser.error("--surge: each at least --threads")
    return Options(
        workers=args.workers,
        wrk=Wrk(args.threads, args.connections, args.duration),
        warmup=args.warmup,
        quiet_wait=args.quiet_wait,
        requests=args.requests,
        engines=engines,
        large=not args.no_large,
        surge=surge,
        postgres=args.postgres.rstrip("/"),
        now=args.now,
        port=args.port,
        out=args.out,
    )


def say(message: str) -> None:
    """Progress, on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Served:
    """What one server did: each endpoint's load, and its workers' memory after it."""

    loads: dict[str, Load]
    memory: list[float]

    def worker_mb(self) -> list[float]:
        """Each worker's resident memory, in MB to a tenth."""
        return [round(mb, 1) for mb in self.memory]

    @classmethod
    def combined(cls, runs: list[Served]) -> Served:
        """Several servers' runs of the same endpoints as one; each worker's largest memory."""
        loads = {name: Load.combined([r.loads[name] for r in runs]) for name in runs[0].loads}
        memory = [max(mbs) for mbs in zip(*(r.memory for r in runs), strict=False)]
        return cls(loads, memory)


@dataclass(frozen=True)
class LargeRuns:
    """The large menu, its runs and the shipped menu's combined, and each run in order."""

    menu: LargeMenu
    shipped: Served
    large: Served
    order: list[tuple[str, Served]]  # ("shipped" or "large", what that run did)


@dataclass(frozen=True)
class Files:
    """An endpoint's request files: one for the load, one for the warm-up."""

    load: Path
    warmup: Path | None


class Bench:
    """One run: its port, temporary folder, endpoints and their request files."""

    def __init__(self, options: Options, work: Path):
        self.options = options
        self.work = work
        self.port = options.port or free_port()
        self.serials = Serials()
        self.endpoints: list[Endpoint] = []
        self.files: dict[str, Files] = {}
        self.sources: dict[str, str] = {}  # the app's sources as each server started, a digest

    def settings(self, database: str, menus: Path | None = None) -> dict[str, str]:
        """The app's environment: production mode, signatures checked, no Twilio account.

        Without TWILIO_ACCOUNT_SID the app never calls Twilio's REST API (outbound.py);
        TWILIO_API_BASE points at a closed port all the same.
        """
        settings = {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": database,
            "IVR_NOW": self.options.now,
            "TWILIO_API_BASE": "http://127.0.0.1:9",
        }
        return {**settings, "IVR_MENUS": str(menus)} if menus else settings

    def database(self, engine: str, name: str) -> str:
        """A fresh database, migrated by the Procfile's release: line: a SQLite file `name`,
        or the PostgreSQL database `bench`, dropped and created again."""
        if engine == "sqlite":
            path = self.work / f"{name}.sqlite3"
            for old in self.work.glob(f"{name}.sqlite3*"):  # an earlier run's, its log and lock
                old.unlink()
            url = f"sqlite:///{path}"
        else:
            url = reset_postgres(self.options.postgres, PG_DATABASE)
        run_release({"DATABASE_URL": url})
        return url

    def serve(
        self, app: str, name: str, settings: dict[str, str] | None = None, port: int = 0
    ) -> AbstractContextManager[Server]:
        """gunicorn serving `app` on `port` (this run's port if 0), for a `with` block."""
        if app == APP:
            self.sources[name] = source_digest()
        log = self.work / f"{name.replace(' ', '-')}.log"
        return serving(app, port or self.port, self.options.workers, settings or {}, log)

    def prepare(self, server: Server, facts: MenuFacts) -> None:
        """Find the endpoints as a call does, then write their signed request files (for
        `server`'s port, which the large menu's runs use too)."""
        self.endpoints = plan(server, facts, TOKEN, self.serials)
        self.files = self.write_files(server, self.endpoints, "")

    def write_files(self, server: Server, endpoints: list[Endpoint], tag: str) -> dict[str, Files]:
        """Signed request files for each endpoint, each request with serials of its own."""
        options = self.options
        load_count = options.per_endpoint(options.wrk.seconds)
        warm_count = options.per_endpoint(options.warmup) if options.warmup else 0
        say(f"writing {load_count:,} signed requests per endpoint{tag and ' for' + tag}")
        with ProcessPoolExecutor() as pool:
            jobs = {
                (e.name, kind): pool.submit(
                    write_requests,
                    self.work / f"{e.name.replace(' ', '-')}{tag.replace(' ', '-')}.{kind}.tsv",
                    e,
                    server.base,
                    TOKEN,
                    self.serials.take(count),
                )
                for e in endpoints
                for kind, count in (("load", load_count), ("warmup", warm_count))
                if count
            }
            files = {}
            for e in endpoints:
                warmup = jobs.get((e.name, "warmup"))
                files[e.name] = Files(
                    jobs[e.name, "load"].result(), warmup.result() if warmup else None
                )
        return files

    def drive_all(
        self,
        server: Server,
        label: str,
        endpoints: list[Endpoint],
        files: dict[str, Files] | None = None,
        connections: int = 0,
        seconds: int = 0,
    ) -> dict[str, Load]:
        """Warm up and load each endpoint in turn (with `connections` and for `seconds`, if
        given)."""
        files = files or self.files
        return {
            e.name: self.drive_one(server, label, e, files[e.name], connections, seconds)
            for e in endpoints
        }

    def drive_one(
        self,
        server: Server,
        label: str,
        endpoint: Endpoint,
        files: Files,
        connections: int = 0,
        seconds: int = 0,
    ) -> Load:
        """Wait for a quiet machine, warm up, then load one endpoint (with `connections` and
        for `seconds`, if given)."""
        wrk, warm = self.options.wrk, self.options.warmup_wrk
        wrk = Wrk(wrk.threads, connections or wrk.connections, seconds or wrk.seconds)
        warm = Wrk(warm.threads, connections or warm.connections, warm.seconds)
        self.wait_for_quiet()
        if files.warmup:
            drive(server, files.warmup, warm)
        say(f"{label}: {endpoint.name}, {wrk.connections} connections, {wrk.seconds} s")
        return drive(server, files.load, wrk)

    def wait_for_quiet(self) -> None:
        """Give other work on the machine (tests, builds) up to --quiet-wait seconds to end."""
        if not self.options.quiet_wait:
            return
        busy = wait_for_quiet(1, BUSY_ELSEWHERE_PCT)
        if busy >= BUSY_ELSEWHERE_PCT:
            say(f"the machine is {busy:.0f}% busy with other work; waiting for it to finish")
            busy = wait_for_quiet(self.options.quiet_wait, BUSY_ELSEWHERE_PCT)
            if busy >= BUSY_ELSEWHERE_PCT:
                say(f"still {busy:.0f}% busy after {self.options.quiet_wait} s; measuring anyway")

    def check(self, server: Server, endpoints: list[Endpoint], facts: MenuFacts) -> None:
        """One request each: the answer the menu calls for, before any load."""
        for endpoint in endpoints:
            check(server, endpoint, facts, TOKEN, self.serials.take(1).start)

    def on_menu(
        self, engine: str, facts: MenuFacts, name: str, menus: Path, seconds: int
    ) -> Served:
        """The helpline on `menus` and a fresh database: the load of each endpoint that depends
        on the menu's size, for `seconds`, replaying the first engine's requests (this
        run's port); then memory."""
        settings = self.settings(self.database(engine, name.replace(" ", "-")), menus)
        say(f"{name}: starting the helpline on {engine}, port {self.port}")
        with self.serve(APP, name, settings) as server:
            endpoints = [e for e in self.endpoints if e.large]
            self.check(server, endpoints, facts)
            loads = self.drive_all(server, name, endpoints, seconds=seconds)
            return Served(loads, server.worker_rss_mb())

    def side_by_side(self, facts: MenuFacts) -> tuple[dict[str, Served], Served, Served]:
        """The helpline on each engine (fresh databases), bare Flask and the floor, all
        serving at once, each on a port of its own; then each endpoint driven on each of
        them in turn, the order reversed from one endpoint to the next. The helpline on
        each engine, the bare baseline and the floor, in that order.

        A VM's speed drifts from minute to minute (bare Flask's req/s moved by a fifth
        between two runs twenty minutes apart, and the line's CPU per answer with it).
        Driven one server after the other, an endpoint on the line and on the baseline it
        is compared with were measured up to ten minutes apart; in turn, they are a
        minute or two apart. The servers not being driven are idle.
        """
        names = [*self.options.engines, "baseline", "floor"]
        with ExitStack() as stack:
            servers: dict[str, Server] = {}
            for name in names:
                port = free_port() if servers else self.port
                say(f"{name}: starting on port {port}")
                if name == "baseline":
                    starting = self.serve(BASELINE, name, port=port)
                elif name == "floor":
                    starting = self.serve(FLOOR, name, {"TWILIO_AUTH_TOKEN": TOKEN}, port)
                else:
                    settings = self.settings(self.database(name, name))
                    starting = self.serve(APP, name, settings, port)
                servers[name] = stack.enter_context(starting)
            self.prepare(servers[names[0]], facts)  # on this run's port
            files = {names[0]: self.files}
            for name in names[1:]:
                files[name] = self.write_files(servers[name], self.endpoints, f" {name}")
            for name in self.options.engines:
                self.check(servers[name], self.endpoints, facts)
            self.check_baselines(servers["baseline"], servers["floor"])
            loads: dict[str, dict[str, Load]] = {name: {} for name in names}
            for turn, endpoint in enumerate(self.endpoints):
                for name in names if turn % 2 == 0 else reversed(names):
                    these = files[name][endpoint.name]
                    load = self.drive_one(servers[name], name, endpoint, these)
                    loads[name][endpoint.name] = load
            served = {name: Served(loads[name], servers[name].worker_rss_mb()) for name in names}
        helpline = {name: served[name] for name in self.options.engines}
        return helpline, served["baseline"], served["floor"]

    def check_baselines(self, baseline: Server, floor: Server) -> None:
        """Both answer every endpoint's signed request with 200; the floor refuses one signed
        with another token (so it really checks)."""
        for endpoint in self.endpoints:
            for name, server in (("baseline", baseline), ("floor", floor)):
                answer = post(server, endpoint, TOKEN, self.serials.take(1).start)
                if answer.status != 200:
                    raise BenchError(f"the {name} answered {endpoint.path} {answer.status}")
        answer = post(floor, self.endpoints[0], f"not {TOKEN}", self.serials.take(1).start)
        if answer.status != 403:
            raise BenchError(f"the floor answered a wrongly signed request {answer.status}")

    def surge(self, engine: str, facts: MenuFacts) -> dict[int, Served]:
        """Many more callers at once, on a fresh database of `engine`: each --surge level of
        connections on the greeting, an SMS keyword and STOP, each with requests of its own."""
        settings = self.settings(self.database(engine, "surge"))
        endpoints = [e for e in self.endpoints if e.name in SURGE_ENDPOINTS]
        say(f"surge: starting the helpline on {engine}, port {self.port}")
        served = {}
        with self.serve(APP, "surge", settings) as server:
            self.check(server, endpoints, facts)
            for level in self.options.surge:
                files = self.write_files(server, endpoints, f" surge {level}")
                loads = self.drive_all(server, "surge", endpoints, files, level)
                served[level] = Served(loads, server.worker_rss_mb())
        return served

    def large_menu(self, engine: str, facts: MenuFacts) -> LargeRuns:
        """The shipped menu and a generated large one, four runs each on fresh databases, in
        the order LARGE_ORDER, each for a quarter of --duration.

        The two see the same machine and the same code, so the difference is the menu's size.
        A VM's speed drifts and dips from one moment to the next (its neighbours): in this
        order a steady drift weighs on both menus alike, and a dip during one run is a quarter
        of its menu's figures, not half. Only the endpoints that depend on the menu's size
        are loaded.
        """
        menu = write_large_menu(SHIPPED_MENUS, self.work / "large-menu")
        say(f"large menu: {menu.topics} topics, {menu.keywords} keywords, on {engine}")
        large_facts = MenuFacts.read(menu.path)
        quarter = max(1, self.options.wrk.seconds // 4)
        runs: dict[str, list[Served]] = {"shipped": [], "large": []}
        order = []
        for kind in LARGE_ORDER:
            if kind == "shipped":
                served = self.on_menu(engine, facts, "shipped menu", SHIPPED_MENUS, quarter)
            else:
                served = self.on_menu(engine, large_facts, "large menu", menu.path, quarter)
            runs[kind].append(served)
            order.append((kind, served))
            each = ", ".join(
                f"{name} {load.rps:.0f} req/s p99 {load.p99_ms:.1f} ms"
                for name, load in served.loads.items()
            )
            say(f"{kind} menu, run {len(runs[kind])}: {each}")
        shipped, large = Served.combined(runs["shipped"]), Served.combined(runs["large"])
        return LargeRuns(menu, shipped, large, order)


# Results ------------------------------------------------------------------------


def against(baseline: Served, name: str, load: Load) -> tuple[float, float | None]:
    """The bare baseline's req/s on endpoint `name`, and `load`'s req/s over it (None without)."""
    base = baseline.loads[name].rps if name in baseline.loads else 0.0
    return base, round(load.rps / base, 2) if base else None


def engine_results(served: Served, baseline: Served) -> dict[str, Any]:
    """An engine's figures with the baseline's req/s, the ratio and the targets missed."""
    endpoints = {}
    for name, load in served.loads.items():
        base, ratio = against(baseline, name, load)
        figures = load.as_dict()
        misses = endpoint_misses(figures, ratio)
        endpoints[name] = {**figures, "baseline_rps": base, "ratio": ratio, "misses": misses}
    return {"endpoints": endpoints, "worker_mb": served.worker_mb()}


def floor_results(floor: Served, baseline: Served) -> dict[str, Any]:
    """The floor's figures, each endpoint with its ratio to the bare baseline's req/s."""
    endpoints = {}
    for name, load in floor.loads.items():
        base, ratio = against(baseline, name, load)
        endpoints[name] = {**load.as_dict(), "baseline_rps": base, "ratio": ratio}
    return {"endpoints": endpoints, "worker_mb": floor.worker_mb()}


def surge_results(engine: str, surge: dict[int, Served]) -> dict[str, Any] | None:
    """Each surge level's loads, with the targets they missed (answers, not speed)."""
    if not surge:
        return None
    runs = []
    for connections, served in surge.items():
        for name, load in served.loads.items():
            figures = load.as_dict()
            runs.append(
                {"endpoint": name, "connections": connections, **figures}
                | {"misses": surge_misses(figures), "worker_mb": served.worker_mb()}
            )
    return {"engine": engine, "runs": runs}


def large_results(runs: LargeRuns, engine: str) -> dict[str, Any]:
    """The large menu's p99 and req/s against the shipped menu's, their runs interleaved."""
    menu, shipped, large = runs.menu, runs.shipped, runs.large
    endpoints = {}
    for name, load in large.loads.items():
        before = shipped.loads[name]
        change = change_pct(before.p99_ms, load.p99_ms)
        misses = [m for m in endpoint_misses(load.as_dict(), None) if m != "p99"]
        if change is not None and change > TARGETS["large_change_pct"]:
            misses.insert(0, "p99 change")
        endpoints[name] = {
            **load.as_dict(),
            "p99_shipped_ms": before.p99_ms,
            "rps_shipped": before.rps,
            "bytes_shipped": before.bytes_per_answer,
            "change_pct": change,
            "rps_change_pct": change_pct(before.rps, load.rps),
            "misses": misses,
        }
    return {
        "engine": engine,
        "topics": menu.topics,
        "keywords": menu.keywords,
        "menus": menu.menus,
        "endpoints": endpoints,
        "worker_mb": large.worker_mb(),
        "shipped": {
            "endpoints": {name: load.as_dict() for name, load in shipped.loads.items()},
            "worker_mb": shipped.worker_mb(),
        },
        "runs": [
            {
                "menu": kind,
                "endpoints": {
                    name: {"rps": load.rps, "p99_ms": load.p99_ms}
                    for name, load in served.loads.items()
                },
            }
            for kind, served in runs.order
        ],
    }


def machine() -> dict[str, Any]:
    """The machine the figures were taken on."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 2**20, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average": Path("/proc/loadavg").read_text().split()[0],
    }


def source_digest() -> str:
    """A digest of the app's sources as they are now (they may change during a run)."""
    digest = hashlib.sha256()
    for name in SOURCES:
        top = ROOT / name
        for path in sorted([top] if top.is_file() else top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def commit() -> tuple[str, bool]:
    """The commit measured, and whether the app's sources differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no", "--", *SOURCES)
    return git("rev-parse", "--short", "HEAD") or "unknown", bool(changed)


def changed_sources(sources: dict[str, str]) -> list[str]:
    """A note when the app's sources changed between servers: their figures differ in code."""
    if len(set(sources.values())) <= 1:
        return []
    each = ", ".join(f"{server} {digest}" for server, digest in sources.items())
    return [
        "the app's sources changed during the run (someone edited or committed them), so "
        f"the servers ran different code: {each}; compare them with care"
    ]


def notes(results: dict[str, Any], options: Options) -> list[str]:
    """What a reader must know to trust the figures: repeats, faults, a busy machine."""
    found = []
    servers = {**results["engines"], "baseline": results["baseline"], "floor": results["floor"]}
    if results.get("large_menu"):
        servers["shipped menu"] = results["large_menu"]["shipped"]
        servers["large menu"] = results["large_menu"]
    for server, figures in servers.items():
        for endpoint, f in figures["endpoints"].items():
            judged = server not in ("baseline", "floor")
            found += endpoint_notes(f"{server} {endpoint}", f, judged=judged)
    for f in (results.get("surge") or {}).get("runs", []):
        found += endpoint_notes(f"surge {f['endpoint']} at {f['connections']}", f, judged=True)
    found.append(
        f"wrk, gunicorn and PostgreSQL share this machine's {results['machine']['nproc']} CPUs; "
        "the ratio to the baseline, taken the same way, is the figure to compare across machines"
    )
    found.append(
        f"latency is mostly queueing: wrk keeps {options.wrk.connections} requests in flight "
        f"against {options.workers} gunicorn sync workers, each serving one request at a time, "
        "so p50 is about connections / req/s; `service ms` (workers x 1000 / req/s) is the "
        "time a worker spends on one request"
    )
    return found


def endpoint_notes(where: str, f: dict[str, Any], judged: bool) -> list[str]:
    """Notes on one endpoint's load (the baseline does not care about repeats or answers)."""
    found = []
    if judged and f["repeated"]:
        found.append(
            f"{where}: wrk ran out of distinct requests {f['repeated']} times and sent "
            "repeats (Twilio retries); pass a larger --requests"
        )
    if f["fail_safe"] or f["non_2xx"] or f["errors"]:
        logged = "; ".join(f["log"]) or "nothing logged"
        found.append(f"{where}: {f['fail_safe']} fail-safe answers; the log: {logged}")
    if f["others_cpu_pct"] > BUSY_ELSEWHERE_PCT:
        found.append(
            f"{where}: other work on the machine took {f['others_cpu_pct']:.0f}% of its "
            "CPUs during the load; these figures are lower than an idle machine's"
        )
    return found


def assemble(
    options: Options,
    host: dict[str, Any],
    helpline: dict[str, Served],
    baseline: Served,
    floor: Served,
    large: LargeRuns | None,
    surge: dict[int, Served],
    sources: dict[str, str],
) -> dict[str, Any]:
    """Every figure of the run, as results.json holds it."""
    revision, dirty = commit()  # at the end: a change made during the run counts
    results: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": revision,
        "dirty": dirty,
        "machine": host,
        "settings": {
            "workers": options.workers,
            "threads": options.wrk.threads,
            "connections": options.wrk.connections,
            "seconds": options.wrk.seconds,
            "warmup": options.warmup,
            "quiet_wait": options.quiet_wait,
            "requests_per_endpoint": options.per_endpoint(options.wrk.seconds),
            "surge": list(options.surge),
            "now": options.now,
        },
        "engines": {name: engine_results(served, baseline) for name, served in helpline.items()},
        "baseline": {
            "endpoints": {name: load.as_dict() for name, load in baseline.loads.items()},
            "worker_mb": baseline.worker_mb(),
        },
        "floor": floor_results(floor, baseline),
        "large_menu": large_results(large, options.engines[0]) if large else None,
        "surge": surge_results(options.engines[0], surge),
        "sources": sources,
    }
    results["notes"] = changed_sources(sources) + notes(results, options)
    return results


def run(options: Options) -> dict[str, Any]:
    """The whole benchmark; raises BenchError when it cannot run."""
    require_wrk()
    host = machine()  # before the run: its load average says whether the machine was idle
    facts = MenuFacts.read(SHIPPED_MENUS)
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as work:
        bench = Bench(options, Path(work))
        helpline, baseline, floor = bench.side_by_side(facts)
        large = bench.large_menu(options.engines[0], facts) if options.large else None
        surge = bench.surge(options.engines[0], facts) if options.surge else {}
    return assemble(options, host, helpline, baseline, floor, large, surge, bench.sources)


def stopped(signum: int, _frame: object) -> None:
    """SIGTERM or SIGHUP: unwind, so every server started is stopped and the files removed."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the tables and write the results; 1 if the benchmark could not run."""
    options = parse(argv)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, stopped)
    try:
        results = run(options)
    except BenchError as exc:
        print(f"bench: could not run: {exc}", file=sys.stderr)
        return 1
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (options.out / "results.md").write_text(as_markdown(results))
    print(as_text(results), end="")
    say(f"written: {options.out / 'results.md'} and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
