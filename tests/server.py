"""The app under gunicorn in a child process, and signed requests to it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .conftest import twilio_signature
from .prism import free_port

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn:
    """`gunicorn ivr:create_app()` with the given settings, as the Procfile runs it."""

    def __init__(self, settings: dict, log: Path, workers: int = 3):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, **settings}
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    str(workers),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "ivr:create_app()",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(log.read_text())

    def post(
        self, path: str, form: dict, headers: dict | None = None, signed_as: str | None = None
    ) -> tuple[int, str]:
        """POST a form signed for `signed_as` (default: this server's own URL)."""
        url = f"{self.base}{path}"
        signature = twilio_signature(signed_as or url, form)
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(form).encode(),
            headers={"X-Twilio-Signature": signature, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def health(self) -> dict:
        import json

        with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
