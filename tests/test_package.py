"""Installs anywhere: the wheel carries menu, content and migrations, and runs outside a checkout.

The wheel is built the way a platform builds one (`pip wheel`, not editable) from a copy
of the checkout, installed in a fresh virtual environment in a temporary folder, and run
from another temporary folder: `ivr db upgrade`, `ivr check` and signed webhooks. It
needs no network: the build uses this environment's setuptools (the test extra), and the
fresh environment borrows this one's dependencies through a .pth file, never its `ivr`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr import migrate
from ivr.settings import menus_path, shipped

ROOT = Path(__file__).resolve().parent.parent
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".venv",
    ".git",
    ".cache",
    "build",
    "dist",
    "instance",
    "*.egg-info",
    "__pycache__",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    "node_modules",
)
SHIPPED = ("menus.yaml", "content", "migrations")


def shipped_files() -> list[str]:
    """The files the wheel must carry, relative to the repository root."""
    files = [Path("menus.yaml")]
    for folder in ("content", "migrations"):
        files += [
            p.relative_to(ROOT)
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    return sorted(str(f) for f in files)


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a command with none of this process's line settings, failing with its output."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IVR_", "TWILIO_", "PYTHON", "VIRTUAL_ENV"))
        and k not in {"DATABASE_URL", "SECRET_KEY"}
    }
    done = subprocess.run(
        command, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path  # the fresh environment's
    ivr: Path  # its console script
    elsewhere: Path  # a working folder outside the checkout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """The package built as a wheel from a copy of the checkout, installed in a fresh venv."""
    base = tmp_path_factory.mktemp("package")
    assert not base.is_relative_to(ROOT)
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_IN_A_CLONE)
    pip = [sys.executable, "-m", "pip"]
    run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", base, source],
        base,
    )
    [wheel] = base.glob("waterstone_ivr-*.whl")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], base)
    python = venv / "bin" / "python"
    run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], base)
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base)
    dependencies = sysconfig.get_path("purelib")  # this environment's: flask, twilio, ...
    (Path(site.stdout.strip()) / "dependencies.pth").write_text(dependencies + "\n")
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, python, venv / "bin" / "ivr", elsewhere)


def test_the_wheel_carries_the_menu_content_and_migrations(installed):
    with zipfile.ZipFile(installed.wheel) as wheel:
        packaged = {
            name.removeprefix("ivr/data/"): wheel.read(name)
            for name in wheel.namelist()
            if name.startswith("ivr/data/")
        }
        names = wheel.namelist()
    assert sorted(packaged) == shipped_files()
    assert all(packaged[name] == (ROOT / name).read_bytes() for name in packaged)
    assert {"ivr/crisis_model.json", "ivr/topic_model.json"} <= set(names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


WEBHOOKS = """
import json, sys
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
import ivr
from ivr.store import Event

TOKEN = "package-test-token"
app = ivr.create_app({
    "IVR_ENV": "test", "TWILIO_AUTH_TOKEN": TOKEN, "SECRET_KEY": "package-test-secret",
    "DATABASE_URL": sys.argv[1], "IVR_NOW": "2026-12-01T10:00:00-05:00",
    "TWILIO_API_BASE": "http://127.0.0.1:9",
})
client = app.test_client()

def post(path, form, signed=True):
    url = "http://localhost" + path
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    headers = {"X-Twilio-Signature": signature} if signed else {}
    response = client.post(path, data=form, headers=headers)
    return [response.status_code, response.get_data(as_text=True)]

people = {"AccountSid": "AC" + "0" * 32, "From": "+12035550100", "To": "+12032450412"}
call = {**people, "CallSid": "CA" + "1" * 32, "CallStatus": "ringing", "Direction": "inbound"}
text = {**people, "MessageSid": "SM" + "1" * 32, "Body": "DETOX"}
answers = {"voice": post("/voice", call), "unsigned": post("/voice", call, signed=False)[0],
           "sms": post("/sms", text)}
app.extensions["ivr.store"].later.flush()  # calls' events are written moments after the answer
with app.extensions["ivr.store"].session() as session:
    events = session.execute(select(Event.kind, func.count()).group_by(Event.kind)).all()
print(json.dumps({"package": ivr.__file__, "menu": str(app.extensions["ivr.line"].path),
                  "events": dict(events), **answers}))
"""


def test_an_installed_line_migrates_checks_and_answers_outside_the_checkout(installed):
    here = installed.elsewhere
    database = f"sqlite:///{here / 'helpline.sqlite3'}"
    upgraded = run([installed.ivr, "db", "upgrade"], here, DATABASE_URL=database)
    assert upgraded.stdout.strip() == "database upgraded to head"

    where = run([installed.python, "-c", "from ivr import menus_path; print(menus_path(''))"], here)
    menu = Path(where.stdout.strip())
    packaged = installed.python.parent.parent / "lib"
    assert menu.is_relative_to(packaged) and menu.parts[-3:] == ("ivr", "data", "menus.yaml")
    # `ivr check` reads ./menus.yaml unless given a path (ivr/cli.py): given the packaged one.
    checked = run([installed.ivr, "check", menu], here)
    assert "0 errors, 0 warnings." in checked.stdout

    answered = run([installed.python, "-c", WEBHOOKS, database], here)
    result = json.loads(answered.stdout)
    assert Path(result["package"]).is_relative_to(packaged)
    assert result["menu"] == str(menu)  # IVR_MENUS unset: the packaged menu
    status, twiml = result["voice"]
    assert status == 200 and "<Gather" in twiml and "hang up and dial 9 1 1" in twiml
    assert result["unsigned"] == 403
    status, twiml = result["sms"]
    assert status == 200 and "<Message>Withdrawal can bring" in twiml
    assert "error" not in result["events"] and result["events"]["call-started"] == 1


def test_a_checkout_uses_its_own_menu_and_migrations():
    assert shipped("menus.yaml") == ROOT / "menus.yaml"
    assert menus_path("") == ROOT / "menus.yaml"
    assert migrate.MIGRATIONS == ROOT / "migrations"


def test_ivr_menus_names_a_file_from_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "own.yaml").write_text("center: {}\n")
    assert menus_path("own.yaml") == Path("own.yaml")
    assert menus_path(str(tmp_path / "own.yaml")) == tmp_path / "own.yaml"
    assert menus_path("menus.yaml") == ROOT / "menus.yaml"  # not here: beside the shipped one


CONSOLE = """
import sys
import ivr

app = ivr.create_app({
    "IVR_ENV": "test", "TWILIO_AUTH_TOKEN": "t", "SECRET_KEY": "package-test-secret",
    "DATABASE_URL": sys.argv[1],
})
client = app.test_client()
page = client.get("/staff/login")
css = client.get("/static/staff.css")
print(page.status_code, css.status_code, "<h1>Sign in</h1>" in page.get_data(as_text=True),
      ":focus-visible" in css.get_data(as_text=True))
css.close()
"""


def test_the_wheel_carries_the_staff_consoles_templates_and_stylesheet(installed):
    console = ("ivr/templates/staff", "ivr/static")
    in_checkout = sorted(
        str(p.relative_to(ROOT))
        for folder in console
        for p in (ROOT / folder).iterdir()
        if p.is_file()
    )
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = sorted(n for n in wheel.namelist() if n.startswith(console))
    assert names == in_checkout and "ivr/templates/staff/queue.html" in names
    database = f"sqlite:///{installed.elsewhere / 'console.sqlite3'}"
    shown = run([installed.python, "-c", CONSOLE, database], installed.elsewhere)
    assert shown.stdout.split() == ["200", "200", "True", "True"]
