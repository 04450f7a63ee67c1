"""The app factory: settings from a mapping, a loaded menu, and no start on a broken one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ivr import create_app
from ivr.problems import MenuError
from ivr.settings import SettingsError, load_settings


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "topics": 10,
        "database": "ok",
        "failed_writes": 0,
        "signatures": "checked",
    }


def test_healthz_says_when_the_database_is_down(settings):
    app = create_app({**settings, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "down"


def test_factory_reads_the_mapping_not_the_environment(settings, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app(settings)
    assert app.config["SECRET_KEY"] == "test-secret-key"
    assert app.config["IVR"].DATABASE_URL == settings["DATABASE_URL"]


def test_factory_reads_the_environment_by_default(settings, monkeypatch):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IVR_RETENTION_DAYS", "30")
    app = create_app()
    assert app.config["IVR"].IVR_RETENTION_DAYS == 30
    assert app.config["IVR"].TWILIO_AUTH_TOKEN == "test-auth-token"


def test_app_refuses_a_broken_menu(settings, menu_copy, edit_yaml):
    edit_yaml(menu_copy, lambda d: d["center"].update(staff_line="911"))
    with pytest.raises(MenuError, match=r"center.staff_line: '911' is not in E.164 form"):
        create_app({**settings, "IVR_MENUS": str(menu_copy)})


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings({}, tmp_path)
    assert settings.DATABASE_URL == f"sqlite:///{tmp_path / 'helpline.sqlite3'}"
    assert settings.TWILIO_API_BASE == "https://api.twilio.com"


@pytest.mark.parametrize(
    ("value", "message"),
    [("2026-11-26 10:00", "needs a UTC offset"), ("next tuesday", "not an ISO 8601 time")],
)
def test_ivr_now_must_be_a_moment_with_offset(value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings({"IVR_NOW": value})


def test_ivr_now_is_the_app_clock():
    settings = load_settings({"IVR_NOW": "2026-11-27T02:00:00-05:00"})
    assert settings.now().isoformat() == "2026-11-27T02:00:00-05:00"


def test_numbers_settings_must_be_numbers():
    with pytest.raises(SettingsError, match="IVR_RETENTION_DAYS: not a whole number"):
        load_settings({"IVR_RETENTION_DAYS": "ninety"})


@pytest.mark.parametrize(
    ("raw", "checked"), [("true", True), ("1", True), ("On", True), ("false", False), ("0", False)]
)
def test_switches_read_the_usual_words(raw, checked):
    assert load_settings({"IVR_VALIDATE_SIGNATURES": raw}).IVR_VALIDATE_SIGNATURES is checked


def test_a_misspelt_switch_stops_the_app_instead_of_guessing():
    with pytest.raises(SettingsError, match="IVR_VALIDATE_SIGNATURES: not true or false"):
        load_settings({"IVR_VALIDATE_SIGNATURES": "flase"})


def test_a_worker_loads_no_tool_that_only_staff_pages_or_the_cli_use(tmp_path):
    """Memory per worker (issue 11): the reading-level measure (textstat, for the map) and
    the migration tool (alembic, for the preview's practice copy) load only when used."""
    code = (
        "import sys, ivr\n"
        f"ivr.create_app({{'DATABASE_URL': 'sqlite:///{tmp_path}/a.db', 'IVR_ENV': 'test'}})\n"
        "print(sorted({'textstat', 'alembic', 'mako', 'pygments'} & set(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_a_worker_sets_what_it_loaded_aside_from_the_garbage_collector(tmp_path):
    """p99 under load (issue 11): a full collection over the loaded menu and models held a
    worker for about 70 ms. An app built from the environment, as gunicorn builds one in each
    worker, freezes what it loaded; an app built from a mapping (a test's) does not."""
    database = f"sqlite:///{tmp_path}/a.db"
    code = (
        "import gc, os, sys, ivr\n"
        "built_from = sys.argv[1]\n"
        f"os.environ.update(DATABASE_URL='{database}', IVR_ENV='test')\n"
        "ivr.create_app(None if built_from == 'env' else dict(os.environ))\n"
        "print(gc.get_freeze_count())\n"
    )
    frozen = {
        way: subprocess.run([sys.executable, "-c", code, way], capture_output=True, text=True)
        for way in ("env", "mapping")
    }
    assert int(frozen["env"].stdout) > 50_000, frozen["env"].stderr
    assert int(frozen["mapping"].stdout) == 0, frozen["mapping"].stderr
