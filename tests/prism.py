"""Prism serving Twilio's own API description: the outbound REST calls' real counterpart."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / ".cache" / "prism" / "node_modules" / ".bin" / "prism"
SPEC = ROOT.parent / "shared" / "twilio" / "twilio_api_v2010.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Seen:
    """One request Prism received: where to, its form fields, and whether it was valid."""

    method: str
    path: str
    form: dict[str, str]
    valid: bool


class Prism:
    """A running Prism mock and the requests its debug log shows."""

    def __init__(self, log: Path, errors: bool = True):
        self.log = log
        # --errors: a request the description does not allow is answered 4xx/5xx. Without it
        # Prism still checks every request and logs the result (Seen.valid), and answers
        # with the description's example even where the example breaks its own schema
        # (as Twilio's IncomingPhoneNumbers examples do).
        self.errors = errors
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._handle = None

    def start(self, timeout: float = 90) -> None:
        """Start Prism and wait until it listens; raise with its log if it does not."""
        if not BINARY.exists():
            raise RuntimeError(f"Prism is not installed at {BINARY}; run `bash .ci/setup`")
        if not SPEC.exists():
            raise RuntimeError(f"Twilio's API description is missing at {SPEC}")
        self._handle = handle = self.log.open("w")
        self.process = subprocess.Popen(
            [
                str(BINARY),
                "mock",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                *(["--errors"] if self.errors else []),
                "-v",
                "debug",
                str(SPEC),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Prism is listening" in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError("Prism did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self._handle:
            self._handle.close()

    def mark(self) -> int:
        """A place in the log; requests() after it are the ones a test made."""
        return len(self.log.read_text(errors="replace"))

    def requests(self, since: int = 0, timeout: float = 10) -> list[Seen]:
        """Requests Prism logged after `since`, with their bodies and validation results.

        Prism writes a request's log lines just after answering it, so a sentinel request
        is sent last and the log read once the sentinel shows: every request made before it
        is in the log by then (no guessing how long to sleep).
        """
        sentinel = f"/sentinel/{uuid.uuid4().hex}"
        try:
            urllib.request.urlopen(self.base + sentinel, timeout=5).close()
        except urllib.error.HTTPError:
            pass  # no such route: Prism answers 404 and logs it all the same
        deadline = time.monotonic() + timeout
        while sentinel not in (text := self.log.read_text(errors="replace")[since:]):
            if time.monotonic() > deadline:
                raise AssertionError(f"Prism never logged {sentinel}")
            time.sleep(0.02)
        text = ANSI.sub("", text[: text.index(sentinel)])
        seen = []
        for block in re.split(r"(?=\[HTTP SERVER\] \w+ /)", text)[1:]:
            head = re.match(r"\[HTTP SERVER\] (\w+) (\S+)", block)
            if head is None:  # the sentinel's own opening
                continue
            body = re.search(r"< Body: (.*)", block)
            form = {k: v[0] for k, v in parse_qs(body.group(1) if body else "").items()}
            valid = "The request passed the validation rules" in block
            seen.append(Seen(head.group(1).upper(), head.group(2), form, valid))
        return seen


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
