"""Waterstone Counseling Center's helpline: a Twilio phone menu and text line.

The web stack (Flask, the webhooks, storage) is imported inside the factory, when an app
is built, so that importing the pure core (`ivr.call`, `ivr.textline`) never loads it.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import Settings, load_settings, menus_path

if TYPE_CHECKING:
    from flask import Flask, Response

__all__ = ["app_settings", "create_app", "menus_path"]
log = logging.getLogger("ivr")


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the helpline app from settings (default: the environment); refuse a broken menu."""
    from flask import Flask, jsonify

    from . import alerts, callbacks, console, sms, staff, voice
    from .menus import load_line
    from .outbound import Dialer, Messenger
    from .privacy import install_log_masking
    from .security import protect
    from .store import Store

    install_log_masking()
    app = Flask(__name__, instance_relative_config=True)
    settings = app_settings(config, app)
    protect(app, settings)
    app.config.update(SECRET_KEY=settings.SECRET_KEY, IVR=settings)
    app.extensions["ivr.line"] = load_line(menus_path(settings.IVR_MENUS))
    app.extensions["ivr.store"] = Store(settings.DATABASE_URL, settings.SECRET_KEY)
    app.extensions["ivr.messenger"] = Messenger(settings)
    app.extensions["ivr.dialer"] = Dialer(settings)
    app.register_blueprint(voice.bp)
    app.register_blueprint(callbacks.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(alerts.bp)
    staff.init_app(app, settings)
    console.init_app(app, settings)  # the preview and the menu map

    @app.get("/healthz")
    def healthz() -> Response:
        """Liveness for the platform: the menu is loaded, and whether the database answers."""
        store: Store = app.extensions["ivr.store"]
        return jsonify(
            status="ok",
            topics=len(app.extensions["ivr.line"].spec.topics),
            database="ok" if store.ping() else "down",
            failed_writes=store.failed_writes,
            signatures="checked" if settings.IVR_VALIDATE_SIGNATURES else "OFF",
        )

    if config is None:
        _settle()
    return app


def _settle() -> None:
    """An app built from the environment serves for its process's life (gunicorn builds one in
    each worker): what it loaded (the menu, the models, the keyword indexes: about 110,000
    objects) is set aside from the garbage collector, whose full pass over it held a worker
    for about 70 ms, now and then, in the middle of a caller's request. Tests that build an
    app per test pass their settings (`config`), and their apps are collected as usual."""
    gc.collect()
    gc.freeze()


def app_settings(config: Mapping[str, object] | None = None, app: Flask | None = None) -> Settings:
    """Settings with the SQLite default placed in the app's instance folder."""
    from flask import Flask

    instance = Path((app or Flask(__name__)).instance_path)
    settings = load_settings(config, instance)
    if settings.DATABASE_URL.startswith("sqlite:///") and str(instance) in settings.DATABASE_URL:
        instance.mkdir(parents=True, exist_ok=True)
    return settings
