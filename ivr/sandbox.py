"""The preview's own copy of the line: the same menu and the same webhooks, with a database of
its own and texts kept instead of sent.

So trying the line in the console leaves nothing in the staff queue or the activity figures,
texts no one, and rings no one. The copy is an app made by the same factory, never served on
a port: the console drives it in process (ivr.driver), and two things reach it only through
the WSGI environ of those in-process requests, which no request over the network can set:
the moment the preview plays (`PREVIEW_NOW`) and the list that keeps its texts (`OUTBOX`).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import tempfile
import threading
from dataclasses import fields
from datetime import datetime
from pathlib import Path

from flask import Flask, has_request_context, request

from .driver import fresh_sid
from .outbound import OutboundError
from .settings import Settings

PREVIEW_NOW = "ivr.preview.now"  # a datetime: the sandbox's clock for one request
OUTBOX = "ivr.preview.outbox"  # a list of (to, body): the texts one request would send
SANDBOX = "ivr.preview.sandbox"  # where an app keeps its sandbox (app.extensions)
_making = threading.Lock()


class SandboxSettings(Settings):
    """The sandbox's settings: its clock is the preview's moment, when the request has one."""

    def now(self) -> datetime | None:
        """The moment the preview plays, else IVR_NOW, else None (the clock)."""
        if has_request_context():
            moment = request.environ.get(PREVIEW_NOW)
            if isinstance(moment, datetime):
                return moment
        return super().now()


class Outbox:
    """The sandbox's messenger: sends nothing, and keeps each text on the request that sent it."""

    def send(self, to: str, sender: str, body: str, status_callback: str | None = None) -> str:
        """Keep `body` and its recipient for the preview to show; returns a made-up id."""
        kept = request.environ.get(OUTBOX) if has_request_context() else None
        if isinstance(kept, list):
            kept.append((to, body))
        return fresh_sid("SM")


class NoCalls:
    """The sandbox's dialer: the preview never places a call."""

    def ring(self, to: str, sender: str, url: str, status_url: str) -> str:
        """Refuse, always."""
        raise OutboundError("the preview places no calls")


def sandbox(app: Flask) -> Flask:
    """The sandbox of this app, made on first use and kept."""
    with _making:
        made: Flask | None = app.extensions.get(SANDBOX)
        if made is None:
            made = app.extensions[SANDBOX] = _make(app)
    return made


def _make(app: Flask) -> Flask:
    from . import create_app  # the factory imports the console, which imports this module

    settings: Settings = app.config["IVR"]
    values = {f.name: getattr(settings, f.name) for f in fields(settings)}
    values["DATABASE_URL"] = database_url(settings)
    copy = create_app(values)
    copy.config["IVR"] = SandboxSettings(**values)
    copy.extensions["ivr.line"] = app.extensions["ivr.line"]  # the menu the line runs now
    copy.extensions["ivr.messenger"] = Outbox()
    copy.extensions["ivr.dialer"] = NoCalls()
    path = values["DATABASE_URL"].removeprefix("sqlite:///")
    with open(f"{path}.lock", "w") as lock:  # one worker migrates; the others wait, then see it
        fcntl.flock(lock, fcntl.LOCK_EX)
        from . import migrate  # alembic loads only in a worker that plays the preview

        migrate.upgrade(copy.extensions["ivr.store"].engine)
    return copy


def database_url(settings: Settings) -> str:
    """The sandbox's SQLite file: beside the line's own SQLite file, or in a private temporary
    folder named for the line's database (shared by the workers of one deployment)."""
    url = settings.DATABASE_URL
    if url.startswith("sqlite:///") and ":memory:" not in url:
        own = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{own.with_name(own.stem + '-preview.sqlite3')}"
    folder = Path(tempfile.gettempdir()) / f"ivr-preview-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    name = hmac.new(settings.SECRET_KEY.encode(), url.encode(), hashlib.sha256).hexdigest()[:16]
    return f"sqlite:///{folder / f'{name}.sqlite3'}"
