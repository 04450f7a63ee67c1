"""Shared fixtures: the shipped menu, a copy of it to break, and the app."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ivr import create_app
from ivr.menus import load_line

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def line():
    """The shipped menus.yaml and content/, loaded once."""
    return load_line(ROOT / "menus.yaml")


@pytest.fixture
def menu_copy(tmp_path) -> Path:
    """A writable copy of menus.yaml and content/; returns the menus.yaml path."""
    shutil.copy(ROOT / "menus.yaml", tmp_path / "menus.yaml")
    shutil.copytree(ROOT / "content", tmp_path / "content")
    return tmp_path / "menus.yaml"


@pytest.fixture
def edit_yaml() -> Callable[[Path, Callable[[dict], object]], None]:
    """Load a YAML file, let a function change the data, and write it back."""

    def edit(path: Path, change: Callable[[dict], object]) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    return edit


@pytest.fixture
def settings(tmp_path) -> dict[str, str]:
    """Settings for a test app: its own SQLite file, development mode, a fixed auth token."""
    return {
        "IVR_ENV": "test",
        "TWILIO_AUTH_TOKEN": "test-auth-token",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "IVR_MENUS": str(ROOT / "menus.yaml"),
    }


@pytest.fixture
def app(settings):
    """The helpline app on the shipped menu."""
    return create_app(settings)


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()
