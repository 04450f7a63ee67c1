"""The import contract (../shared/STYLE.md, "Layers"): arrows between parts that must never exist.

Read from the source with `ast`: every import a module makes (at the top or inside a
function, but not under `if TYPE_CHECKING:`), followed through the other ivr modules it
imports, so a rule also catches a forbidden package reached through a neighbour. Then the
same for real: importing the core in a fresh interpreter must not load the web stack.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

IVR = Path(__file__).resolve().parent.parent / "ivr"

CORE = (
    "call",
    "reply",
    "textline",
    "understand",
    "prompts",
    "texting",
    "schedule",
    "segments",
    "crisis",
    "model",
    "language",
    "wording",
    "limits",
    "textpolicy",
    "oncall",  # the console's on-call numbers and open/close, applied to the line
    "moments",  # the preview's moments: now, after hours, holidays
)
MENU_MODEL = ("schema", "menus", "problems")
STORAGE = (
    "store",
    "store_base",
    "store_queue",
    "store_deliveries",
    "store_texts",
    "store_line",
    "store_staff",
    "store_callbacks",
    "store_events",
    "tables",
    "engine",
    "writers",  # SQLite writers take turns through a lock file
)
ACCOUNTS = ("accounts",)  # the staff console's rules: emails, roles, passwords, hashes
STAFF_CONSOLE = {
    "ivr.staff",
    "ivr.forms",
    "ivr.console",
    "ivr.oncall_console",
    "flask_wtf",
    "wtforms",
    "limits",
}

WEB = {
    "flask",
    "werkzeug",
    "twilio",
    "ivr.voice",
    "ivr.sms",
    "ivr.edge",
    "ivr.security",
    "ivr.callbacks",
    "ivr.alerts",
} | STAFF_CONSOLE
DATABASE = {
    "sqlalchemy",
    "alembic",
    "psycopg",
    "ivr.store",
    "ivr.store_base",
    "ivr.store_queue",
    "ivr.store_deliveries",
    "ivr.store_texts",
    "ivr.store_line",
    "ivr.store_staff",
    "ivr.store_callbacks",
    "ivr.store_events",
    "ivr.tables",
    "ivr.engine",
    "ivr.writers",
    "ivr.migrate",
}
OUTBOUND = {"twilio", "ivr.outbound"}
TOOLS = {"ivr.cli", "ivr.simulator", "ivr.driver", "ivr.preview", "ivr.sandbox"}

RULES = [  # (part, its modules, what none of them may reach)
    ("core", CORE, WEB | DATABASE | OUTBOUND | TOOLS),
    ("menu model", MENU_MODEL, WEB | DATABASE | OUTBOUND | TOOLS),
    ("storage", STORAGE, WEB | OUTBOUND | TOOLS),
    ("accounts", ACCOUNTS, WEB | DATABASE | OUTBOUND | TOOLS),
    # The webhooks never lean on the console: it can change, or go, without touching a call.
    (
        "webhooks",
        ("voice", "sms", "edge", "twiml", "security", "callbacks", "alerts"),
        STAFF_CONSOLE | TOOLS,
    ),
]


def _in_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """The modules one ivr module imports: `ivr.x` for its own, the top name for others."""

    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if _in_type_checking(node):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found |= {_name(alias.name) for alias in node.names}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        if node.level and node.module:  # from .menus import Line
            self.found.add(f"ivr.{node.module.split('.')[0]}")
        elif node.level:  # from . import call, schedule
            self.found |= {f"ivr.{alias.name}" for alias in node.names}
        elif node.module == "ivr":  # from ivr import store
            self.found |= {f"ivr.{alias.name}" for alias in node.names}
        else:
            self.found.add(_name(node.module or ""))


def _name(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "ivr" and len(parts) > 1 else parts[0]


@cache
def imports(module: str) -> frozenset[str]:
    """What `ivr.<module>` imports directly."""
    visitor = _Imports()
    visitor.visit(ast.parse((IVR / f"{module}.py").read_text(encoding="utf-8")))
    return frozenset(visitor.found)


def reach(module: str) -> dict[str, list[str]]:
    """Everything `ivr.<module>` imports, directly or through other ivr modules, with a path."""
    start = f"ivr.{module}"
    paths = {start: [start]}
    todo = [start]
    while todo:
        current = todo.pop()
        name = current.removeprefix("ivr.")
        if not (IVR / f"{name}.py").is_file():
            continue
        for imported in sorted(imports(name)):
            if imported not in paths:
                paths[imported] = [*paths[current], imported]
                if imported.startswith("ivr."):
                    todo.append(imported)
    del paths[start]
    return paths


def test_every_module_is_in_the_graph():
    """A module renamed or removed must leave these lists too, or the rules check nothing."""
    listed = {m for _, modules, _ in RULES for m in modules}
    assert sorted(listed - {p.stem for p in IVR.glob("*.py")}) == []


CASES = [
    pytest.param(
        f"ivr.{module}",
        forbidden,
        id=f"{part}: ivr.{module}",
    )
    for part, modules, forbidden in RULES
    for module in modules
]


@pytest.mark.parametrize(("module", "forbidden"), CASES)
def test_no_forbidden_import(module, forbidden):
    found = reach(module.removeprefix("ivr."))
    wrong = [" -> ".join([module, *found[name]]) for name in sorted(forbidden & found.keys())]
    assert wrong == []


# At run time -----------------------------------------------------------------

WEB_STACK = ("flask", "werkzeug", "sqlalchemy", "alembic", "twilio") + tuple(
    sorted(m for m in WEB | DATABASE | OUTBOUND if m.startswith("ivr."))
)


def loaded_by(module: str) -> list[str]:
    """The web-stack modules a fresh interpreter has loaded after `import <module>`."""
    probe = (
        f"import json, sys, {module}; "
        f"print(json.dumps(sorted({{m.split('.')[0] if not m.startswith('ivr.') else m "
        f"for m in sys.modules}} & set({list(WEB_STACK)!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def test_importing_the_call_core_loads_no_web_stack():
    assert loaded_by("ivr.call") == []


def test_importing_the_text_core_loads_no_web_stack():
    assert loaded_by("ivr.textline") == []
