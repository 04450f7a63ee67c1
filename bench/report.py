"""The figures as tables, with the targets they are held to: plain text, Markdown and JSON.

Everything is rendered from the results dictionary that is also written as results.json,
so the three never disagree. Targets are shown next to the figures, never asserted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TARGETS = {
    "ratio": 0.5,  # requests/s at least half the bare Flask baseline's, same endpoint
    "p99_ms": 50.0,
    "errors": 0,  # socket errors, timeouts, non-2xx and fail-safe answers together
    "large_change_pct": 20.0,  # large menu p99 at most 20% above the shipped menu's
    "worker_mb": 120.0,
}
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def endpoint_misses(load: Mapping[str, Any], ratio: float | None) -> list[str]:
    """The targets one endpoint's figures miss."""
    misses = []
    if ratio is not None and ratio < TARGETS["ratio"]:
        misses.append("ratio")
    if load["p99_ms"] > TARGETS["p99_ms"]:
        misses.append("p99")
    if load["errors"] or load["non_2xx"] or load["fail_safe"]:
        misses.append("errors")
    if load["repeated"]:
        misses.append("repeated requests")
    return misses


def surge_misses(load: Mapping[str, Any]) -> list[str]:
    """What a surge run must still do: answer everyone (wrk gives up at Twilio's 15 s, so a
    later answer is an error), with no non-2xx or fail-safe answer. Speed is shown, not judged:
    with many more callers than workers, the wait grows with the queue."""
    misses = []
    if load["errors"] or load["non_2xx"] or load["fail_safe"]:
        misses.append("errors")
    if load["repeated"]:
        misses.append("repeated requests")
    return misses


def verdict(misses: Sequence[str]) -> str:
    """pass, or FAIL and what missed."""
    return "pass" if not misses else f"FAIL ({', '.join(misses)})"


def change_pct(before: float, after: float) -> float | None:
    """How much `after` is above (+) or below (-) `before`, in percent."""
    return round(100.0 * (after - before) / before, 1) if before else None


@dataclass(frozen=True)
class Table:
    """A titled table, with a line of explanation under it."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    note: str = ""


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _count(load: Mapping[str, Any]) -> str:
    """errors / non-2xx / fail-safe answers."""
    return f"{load['errors']} / {load['non_2xx']} / {load['fail_safe']}"


def _cpu(load: Mapping[str, Any]) -> str:
    """CPU microseconds the run spent per answer (older results have none)."""
    return f"{load['cpu_us']:.0f}" if load.get("cpu_us") else "-"


def _cpu_split(load: Mapping[str, Any]) -> str:
    """The same, by part: app (gunicorn) / database backends / wrk (older results have none)."""
    if "cpu_app_us" not in load:
        return "-"
    return f"{load['cpu_app_us']:.0f} / {load['cpu_database_us']:.0f} / {load['cpu_wrk_us']:.0f}"


def service_ms(rps: float, workers: int) -> str:
    """Milliseconds a worker spends on one request: workers x 1000 / req/s."""
    return _ms(workers * 1000 / rps) if rps else "-"


# The columns every table of a server's load shows, after the endpoint's name.
LOAD_HEADERS = (
    "req/s",
    "service ms",
    "CPU µs/answer",
    "app / db / wrk µs",
    "p50 ms",
    "p99 ms",
    "err / non-2xx / fail-safe",
)


def _load_cells(figures: Mapping[str, Any], workers: int) -> list[str]:
    """One endpoint's figures under LOAD_HEADERS."""
    return [
        f"{figures['rps']:.0f}",
        service_ms(figures["rps"], workers),
        _cpu(figures),
        _cpu_split(figures),
        _ms(figures["p50_ms"]),
        _ms(figures["p99_ms"]),
        _count(figures),
    ]


def _ratio(figures: Mapping[str, Any]) -> str:
    return f"{figures['ratio']:.2f}" if figures.get("ratio") is not None else "-"


def engine_table(name: str, engine: Mapping[str, Any], workers: int) -> Table:
    """One engine's endpoints against the baseline and the targets."""
    rows = [
        [
            endpoint,
            *_load_cells(figures, workers),
            f"{figures['baseline_rps']:.0f}" if figures["baseline_rps"] else "-",
            _ratio(figures),
            f"{figures['others_cpu_pct']:.0f}%",
            verdict(figures["misses"]),
        ]
        for endpoint, figures in engine["endpoints"].items()
    ]
    return Table(
        f"{ENGINE_NAMES.get(name, name)}: the helpline under load",
        ["endpoint", *LOAD_HEADERS, "baseline req/s", "ratio", "others' CPU", "result"],
        rows,
        f"targets: ratio >= {TARGETS['ratio']}, p99 <= {TARGETS['p99_ms']:.0f} ms, "
        "0 errors, 0 non-2xx, 0 fail-safe answers",
    )


REFERENCES = {
    "baseline": "Baseline: bare Flask, fixed TwiML, the same paths and kinds of request",
    "floor": "Floor: bare Flask that also reads the form and checks Twilio's signature",
}


def reference_table(kind: str, server: Mapping[str, Any], workers: int) -> Table:
    """A baseline app (bench/baseline.py): what gunicorn and Flask alone do on this machine
    ("baseline"), or with the signature check every trusted webhook makes ("floor", with its
    ratio to the bare baseline)."""
    rated = kind == "floor"
    rows = [
        [
            name,
            *_load_cells(f, workers),
            *([_ratio(f)] if rated else []),
            f"{f['others_cpu_pct']:.0f}%",
        ]
        for name, f in server["endpoints"].items()
    ]
    headers = ["endpoint", *LOAD_HEADERS, *(["ratio to bare"] if rated else []), "others' CPU"]
    note = (
        "the least a webhook Twilio may trust costs, before any menu or database work; "
        "ratio to bare: its req/s over the bare baseline's"
        if rated
        else ""
    )
    return Table(REFERENCES[kind], headers, rows, note)


def memory_table(results: Mapping[str, Any]) -> Table:
    """Resident memory of each gunicorn worker after the load."""
    rows = []
    servers: list[tuple[str, Mapping[str, Any], bool]] = [
        (ENGINE_NAMES.get(name, name), engine, True) for name, engine in results["engines"].items()
    ]
    if results.get("large_menu"):
        servers.append(("large menu", results["large_menu"], True))
    if results.get("baseline"):
        servers.append(("baseline (bare Flask)", results["baseline"], False))
    if results.get("floor"):
        servers.append(("floor (signature check)", results["floor"], False))
    for name, server, judged in servers:
        workers = server["worker_mb"]
        most = max(workers, default=0.0)
        result = verdict([] if most <= TARGETS["worker_mb"] else ["memory"]) if judged else "-"
        rows.append([name, ", ".join(f"{mb:.0f}" for mb in workers), f"{most:.0f}", result])
    return Table(
        "Memory per worker (VmRSS after the load)",
        ["server", "each worker MB", "max MB", "result"],
        rows,
        f"target: at most {TARGETS['worker_mb']:.0f} MB per worker",
    )


def _change(value: float | None) -> str:
    return f"{value:+.0f}%" if value is not None else "-"


def large_table(large: Mapping[str, Any]) -> Table:
    """The large menu against the shipped one, on the same engine, interleaved."""
    rows = []
    for endpoint, f in large["endpoints"].items():
        shipped = large["shipped"]["endpoints"][endpoint]
        others = max(f["others_cpu_pct"], shipped["others_cpu_pct"])
        rows.append(
            [
                endpoint,
                f"{_ms(f['p99_shipped_ms'])} -> {_ms(f['p99_ms'])}",
                _change(f["change_pct"]),
                f"{f['rps_shipped']:.0f} -> {f['rps']:.0f}",
                _change(f["rps_change_pct"]),
                f"{f['bytes_shipped']:.0f} -> {f['bytes_per_answer']:.0f}",
                _count(f),
                f"{others:.0f}%",
                verdict(f["misses"]),
            ]
        )
    engine = ENGINE_NAMES.get(large["engine"], large["engine"])
    return Table(
        f"Large menu: {large['topics']} topics, {large['keywords']} keywords ({engine})",
        [
            "endpoint",
            "p99 ms shipped -> large",
            "p99 change",
            "req/s shipped -> large",
            "req/s change",
            "bytes/answer",
            "err / non-2xx / fail-safe",
            "others' CPU",
            "result",
        ],
        rows,
        f"target: p99 at most {TARGETS['large_change_pct']:.0f}% above the shipped menu's; "
        "each menu runs four times, on fresh databases, interleaved (ABBA BAAB)",
    )


def surge_table(surge: Mapping[str, Any]) -> Table:
    """Many more callers than usual: answered or not, and how long they waited."""
    rows = [
        [
            f["endpoint"],
            str(f["connections"]),
            f"{f['rps']:.0f}",
            _cpu(f),
            _ms(f["p50_ms"]),
            _ms(f["p99_ms"]),
            _ms(f["max_ms"]),
            _count(f),
            f"{max(f['worker_mb'], default=0.0):.0f}",
            f"{f['others_cpu_pct']:.0f}%",
            verdict(f["misses"]),
        ]
        for f in surge["runs"]
    ]
    engine = ENGINE_NAMES.get(surge["engine"], surge["engine"])
    return Table(
        f"Surge: many callers at once ({engine})",
        [
            "endpoint",
            "connections",
            "req/s",
            "CPU µs/answer",
            "p50 ms",
            "p99 ms",
            "max ms",
            "err / non-2xx / fail-safe",
            "max worker MB",
            "others' CPU",
            "result",
        ],
        rows,
        "target: every request answered within Twilio's 15 s (wrk's time-out), none non-2xx "
        "or fail-safe; the wait is shown, not judged: it grows with the queue (connections / "
        "req/s)",
    )


def tables(results: Mapping[str, Any]) -> list[Table]:
    """Every table of a run, in reading order."""
    workers = results["settings"]["workers"]
    found = [engine_table(name, engine, workers) for name, engine in results["engines"].items()]
    found.append(memory_table(results))
    if results.get("large_menu"):
        found.append(large_table(results["large_menu"]))
    if results.get("surge"):
        found.append(surge_table(results["surge"]))
    for kind in REFERENCES:
        if results.get(kind):
            found.append(reference_table(kind, results[kind], workers))
    return found


def heading(results: Mapping[str, Any]) -> list[str]:
    """When, where and how the figures were taken."""
    m, s = results["machine"], results["settings"]
    commit = results["commit"] + (" (with uncommitted changes)" if results["dirty"] else "")
    return [
        f"Run finished {results['date']}, at commit {commit}.",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']:.0f} GB, {m['system']}, "
        f"Python {m['python']}; load average {m['load_average']} before the run.",
        f"Load: gunicorn as the Procfile's web: line with WEB_CONCURRENCY={s['workers']}; "
        f"wrk {s['threads']} threads, {s['connections']} connections, {s['seconds']} s per "
        f"endpoint after {s['warmup']} s of warm-up; every request a new call or text "
        f"(own CallSid/MessageSid and From), signed; IVR_NOW={s['now']}.",
    ]


def _aligned(table: Table) -> list[str]:
    cells = [list(table.headers), *[list(row) for row in table.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def as_text(results: Mapping[str, Any]) -> str:
    """The report for the terminal."""
    lines = [*heading(results), ""]
    for table in tables(results):
        lines += [table.title, *_aligned(table)]
        lines += [table.note, ""] if table.note else [""]
    lines += [f"note: {note}" for note in results["notes"]]
    return "\n".join(lines).rstrip() + "\n"


def _markdown_rows(rows: Iterable[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def as_markdown(results: Mapping[str, Any]) -> str:
    """The report as bench/results.md."""
    lines = ["# Load benchmark: recorded figures", "", *heading(results), ""]
    lines.append("Written by `bench/run` (see bench/README.md for what each column means).")
    for table in tables(results):
        lines += ["", f"## {table.title}", ""]
        lines += _markdown_rows([table.headers, ["---"] * len(table.headers), *table.rows])
        if table.note:
            lines += ["", table.note[0].upper() + table.note[1:] + "."]
    if results["notes"]:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"
