"""The servers under load: gunicorn started from the Procfile's own lines, and their databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
APP = "ivr:create_app()"
BASELINE = "bench.baseline:app"
FLOOR = "bench.baseline:floor()"
PUBLIC_BIND = "0.0.0.0:$PORT"
LOCAL_BIND = "127.0.0.1:$PORT"
# Settings the environment may carry that would change what is measured: dropped first.
APP_PREFIXES = ("IVR_", "TWILIO_")
APP_NAMES = ("DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL", "PORT", "WEB_CONCURRENCY")


class BenchError(Exception):
    """The benchmark cannot run (as opposed to a target it measured and missed)."""


def procfile(kind: str) -> str:
    """The command of one Procfile line (web, release)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise BenchError(f"Procfile has no {kind}: line")


def web_command(app: str = APP) -> str:
    """The Procfile's web: line, bound to loopback, serving `app` (the helpline or the baseline)."""
    command = procfile("web")
    for needed in (PUBLIC_BIND, APP):
        if needed not in command:
            raise BenchError(f"the Procfile's web: line no longer has {needed!r}: {command}")
    return command.replace(PUBLIC_BIND, LOCAL_BIND).replace(APP, app)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without the app's settings, plus `settings` and the venv."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(APP_PREFIXES) and name not in APP_NAMES
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **settings}


def run_release(settings: dict[str, str]) -> None:
    """Run the Procfile's release: line (the migrations) against the settings' database."""
    command = procfile("release")
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=clean_environment(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"`{command}` failed:\n{done.stdout}{done.stderr}")


def reset_postgres(server: str, name: str) -> str:
    """Drop and create the database `name` on `server` (postgresql://user@host:port); its URL."""
    import psycopg

    if name in {"postgres", "template0", "template1", "test"}:
        raise BenchError(f"refusing to drop the database {name!r}")
    try:
        with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(f"PostgreSQL at {server} is not usable: {exc}") from exc
    return f"{server}/{name}"


@dataclass
class Server:
    """One gunicorn master (the Procfile's web: line) and its workers, on 127.0.0.1:port."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    database: str | None = None  # the PostgreSQL database it uses, if any: its backends' CPU

    @classmethod
    def start(
        cls, app: str, port: int, workers: int, settings: dict[str, str], log: Path
    ) -> Server:
        """Start gunicorn serving `app` and wait until it answers /healthz."""
        env = clean_environment({**settings, "PORT": str(port), "WEB_CONCURRENCY": str(workers)})
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {web_command(app)}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a stop reaches every worker
            )
        url = settings.get("DATABASE_URL", "")
        database = url.rsplit("/", 1)[-1] if url.startswith("postgresql") else None
        server = cls(process, port, log, database)
        server.wait_ready()
        return server

    @property
    def base(self) -> str:
        """The URL the server is reached at, and that Twilio's signatures are computed for."""
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, seconds: float = 60.0) -> None:
        """Wait until /healthz answers; fail with the server's log if it exits or never does."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited ({self.process.returncode}):\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise BenchError(f"gunicorn did not answer /healthz in {seconds:.0f} s:\n{self.log_text()}")

    def log_text(self) -> str:
        """Everything gunicorn and the app wrote so far."""
        return self.log.read_text(errors="replace")

    def log_size(self) -> int:
        """The log's length now, to read what one load phase added."""
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the log gained after `offset`."""
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def workers(self) -> list[int]:
        """The process ids of the master's workers."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # a process that just ended
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                found.append(int(entry.name))
        return sorted(found)

    def worker_rss_mb(self) -> list[float]:
        """Resident set size (VmRSS) of each worker, in MB (2**20 bytes)."""
        sizes = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        """Stop gunicorn gracefully (SIGTERM to the master); kill its group if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def serving(
    app: str, port: int, workers: int, settings: dict[str, str], log: Path
) -> Iterator[Server]:
    """A started server, stopped when the block ends (however it ends)."""
    server = Server.start(app, port, workers, settings, log)
    try:
        yield server
    finally:
        server.stop()
