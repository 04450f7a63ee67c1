"""The Dockerfile runs the line as the Procfile does (no Docker engine here to build it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _procfile(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {kind}: line in the Procfile")


def test_the_image_serves_with_the_procfiles_web_line():
    docker = (ROOT / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", docker, re.M).group(1))
    assert command[:2] == ["sh", "-c"]
    assert command[2] == "exec " + _procfile("web")


def test_the_image_installs_what_the_wheel_packs():
    docker = (ROOT / "Dockerfile").read_text()
    copied = {
        source for line in re.findall(r"^COPY (.+)$", docker, re.M) for source in line.split()[:-1]
    }
    assert {"menus.yaml", "content", "migrations", "ivr", "setup.py", "pyproject.toml"} <= copied
    assert "RUN pip install ." in docker
    assert f"docker run --rm --env-file line.env waterstone-ivr {_procfile('release')}" in docker
    assert re.search(r"^USER ivr$", docker, re.M)  # not root
