"""How much of the machine other work took while a load ran (the CPUs are shared).

The machine's busy time comes from /proc/stat; the run's own share is the server's
gunicorn processes, its PostgreSQL backends and wrk (a child of this process, counted
through getrusage). What is left is other work: tests, builds, anything else running.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
BUSY_FIELDS = (1, 2, 3, 6, 7, 8)  # user nice system irq softirq steal, in /proc/stat's cpu line


def machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return sum(int(fields[i]) for i in BUSY_FIELDS) / TICKS


def process_cpu(pid: int) -> float:
    """Seconds of CPU a process has used (user and system), 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def database_backends(database: str) -> list[int]:
    """PostgreSQL backends serving `database` (their title names it: 'postgres: ... db ...')."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                found.append(int(entry.name))
    return found


def children_cpu() -> float:
    """Seconds of CPU used by this process's finished children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Snapshot:
    """The machine's and the run's CPU seconds at one moment: the app's gunicorn processes,
    each PostgreSQL backend serving its database, and this process's finished children (wrk)."""

    machine: float
    app: float
    database: dict[int, float]
    load: float

    @classmethod
    def take(cls, app_pids: list[int], database: str | None = None) -> Snapshot:
        """Now, counting `app_pids` as the app and the backends of `database` (if any)."""
        pids = database_backends(database) if database else []
        backends = {pid: process_cpu(pid) for pid in pids}
        return cls(machine_busy(), sum(process_cpu(p) for p in app_pids), backends, children_cpu())


@dataclass(frozen=True)
class Spent:
    """CPU seconds the run spent between two snapshots, by whom."""

    app: float  # gunicorn's master and workers
    database: float  # PostgreSQL's backends serving the app's database (0 on SQLite)
    load: float  # wrk, the load generator

    @classmethod
    def between(cls, before: Snapshot, after: Snapshot) -> Spent:
        """What each part used from `before` to `after`. A backend that connected meanwhile
        counts whole; one that closed meanwhile is not seen (the pools keep theirs open)."""
        database = sum(cpu - before.database.get(pid, 0.0) for pid, cpu in after.database.items())
        return cls(after.app - before.app, database, after.load - before.load)

    @property
    def total(self) -> float:
        return self.app + self.database + self.load


def others_percent(before: Snapshot, after: Snapshot, spent: Spent, seconds: float) -> float:
    """Share of all CPUs that other work used between two snapshots, in percent."""
    capacity = seconds * (os.cpu_count() or 1)  # /proc/stat counts every CPU
    others = (after.machine - before.machine) - spent.total
    return round(max(0.0, 100.0 * others / capacity), 1) if capacity else 0.0


def busy_percent(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over the next `seconds`, in percent."""
    before = machine_busy()
    time.sleep(seconds)
    return 100.0 * (machine_busy() - before) / (seconds * (os.cpu_count() or 1))


def wait_for_quiet(most_seconds: float, threshold_pct: float) -> float:
    """Wait (up to `most_seconds`) until the machine is less busy than `threshold_pct`.

    Called between loads, while the server under test is idle; returns the last reading.
    """
    deadline = time.monotonic() + most_seconds
    while True:
        busy = busy_percent()
        if busy < threshold_pct or time.monotonic() >= deadline:
            return busy
