"""Waterstone Counseling Center's helpline: a Twilio phone menu and text line."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, jsonify

from .menus import load_line
from .settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("ivr")


def menus_path(setting: str) -> Path:
    """Where IVR_MENUS points: as given, else beside the package (the repo root)."""
    path = Path(setting)
    if path.is_absolute() or path.exists():
        return path
    return ROOT / path


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the helpline app from settings (default: the environment); refuse a broken menu."""
    app = Flask(__name__, instance_relative_config=True)
    settings = load_settings(config, Path(app.instance_path))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(SECRET_KEY=settings.SECRET_KEY, IVR=settings)
    app.extensions["ivr.line"] = load_line(menus_path(settings.IVR_MENUS))

    @app.get("/healthz")
    def healthz():
        """Liveness for the platform: the menu is loaded and the process answers."""
        return jsonify(status="ok", topics=len(app.extensions["ivr.line"].spec.topics))

    return app
