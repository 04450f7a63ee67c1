"""Settings: read once from the environment (or a mapping in tests), in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

DEV_SECRET = "dev-only-not-secret"
SECRETS = ("TWILIO_AUTH_TOKEN", "SECRET_KEY", "DATABASE_URL")  # never printed or logged
AT_LEAST_ONE = (
    "IVR_SMS_PER_MINUTE",
    "IVR_SMS_REPEATS",
    "IVR_SMS_REPEAT_WINDOW_MINUTES",
    "IVR_SMS_CRISIS_REPEATS",
    "IVR_STAFF_IDLE_MINUTES",
    "IVR_STAFF_LOCKOUT_FAILURES",
    "IVR_STAFF_LOCKOUT_MINUTES",
    "IVR_STAFF_LOGINS_PER_MINUTE",
)
PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent  # the repository root, when running from a source checkout
PACKAGED = PACKAGE / "data"  # the copies setup.py puts in a built wheel


YES, NO = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting is missing or malformed; the app must not start."""


@dataclass(frozen=True)
class Settings:
    """Every setting the helpline reads, with its default."""

    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_API_BASE: str = "https://api.twilio.com"
    DATABASE_URL: str = ""
    SECRET_KEY: str = DEV_SECRET
    IVR_MENUS: str = ""  # unset: the shipped menu (see shipped())
    IVR_NOW: str = ""
    IVR_ENV: str = "production"
    IVR_RETENTION_DAYS: int = 90
    IVR_SMS_PER_MINUTE: int = 20  # distinct replies a minute to one number, then one notice
    IVR_SMS_REPEATS: int = 3  # replies to the same words from one number, per repeat window
    IVR_SMS_REPEAT_WINDOW_MINUTES: int = 60
    IVR_SMS_CRISIS_REPEATS: int = (
        10  # the same crisis words answered per window: past it, a machine
    )
    IVR_VALIDATE_SIGNATURES: bool = True
    PUBLIC_BASE_URL: str = ""
    IVR_MAX_REQUEST_BYTES: int = 64 * 1024
    IVR_STAFF_IDLE_MINUTES: int = 30  # a staff session unused this long is signed out
    IVR_STAFF_LOCKOUT_FAILURES: int = 5  # wrong passwords in a row that lock an account ...
    IVR_STAFF_LOCKOUT_MINUTES: int = 15  # ... for this long
    IVR_STAFF_LOGINS_PER_MINUTE: int = 10  # sign-in tries from one address, per worker
    IVR_LINE_STATE_SECONDS: int = 2  # a call step may use the on-call/open state read this recently

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for secret in SECRETS:
            shown[secret] = "***" if shown[secret] else ""
        return f"Settings({shown})"

    @property
    def development(self) -> bool:
        """True when running on a developer's machine or in tests."""
        return self.IVR_ENV in {"development", "test"}

    def now(self) -> datetime | None:
        """The fixed moment from IVR_NOW, or None to use the clock."""
        return parse_now(self.IVR_NOW) if self.IVR_NOW else None


def shipped(name: str) -> Path:
    """What the line ships at the repository root (menus.yaml, content, migrations).

    From a source checkout, the checkout's own, which staff edit; from an installed
    wheel, the copy setup.py packaged under ivr/data/ when the wheel was built.
    """
    if (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / name).exists():
        return CHECKOUT / name
    return PACKAGED / name


def menus_path(setting: str) -> Path:
    """The menu file IVR_MENUS names; unset, the shipped menu.

    A relative name is read from the working folder, else beside the shipped menu.
    """
    if not setting:
        return shipped("menus.yaml")
    path = Path(setting)
    if path.is_absolute() or path.exists():
        return path
    return shipped("menus.yaml").parent / path


def parse_now(value: str) -> datetime:
    """Parse IVR_NOW, an ISO 8601 time that must carry its UTC offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SettingsError(f"IVR_NOW: not an ISO 8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise SettingsError(f"IVR_NOW: needs a UTC offset, such as -05:00: {value!r}")
    return moment


def _coerce(name: str, kind: type, raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    if kind is bool:  # a typo ("flase") must not switch a safeguard on or off silently
        word = raw.strip().lower()
        if word not in YES | NO:
            raise SettingsError(f"{name}: not true or false: {raw!r}")
        return word in YES
    if kind is int:
        try:
            return int(raw)
        except ValueError as exc:
            raise SettingsError(f"{name}: not a whole number: {raw!r}") from exc
    return raw


def load_settings(
    source: Mapping[str, object] | None = None, instance: Path | None = None
) -> Settings:
    """Build Settings from a mapping (default: the environment); unknown names are ignored."""
    source = os.environ if source is None else source
    types = {"bool": bool, "int": int, "str": str}
    values: dict[str, Any] = {}  # each coerced to its field's type by _coerce
    for field in fields(Settings):
        if field.name in source:
            values[field.name] = _coerce(field.name, types[str(field.type)], source[field.name])
    settings = Settings(**values)
    if not settings.DATABASE_URL and instance is not None:
        settings = replace(settings, DATABASE_URL=f"sqlite:///{instance / 'helpline.sqlite3'}")
    if settings.IVR_NOW:
        settings.now()
    for name in AT_LEAST_ONE:
        if getattr(settings, name) < 1:
            raise SettingsError(f"{name}: must be 1 or more: {getattr(settings, name)!r}")
    return settings
