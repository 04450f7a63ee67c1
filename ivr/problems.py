"""Problems found in menus.yaml and content/: where they are and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) at a key path of a file."""

    file: str
    path: KeyPath
    message: str
    line: int | None = None
    level: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        dotted = ".".join(str(part) for part in self.path) or "(top)"
        return f"{where}: {dotted}: {self.message}"


class MenuError(Exception):
    """The menu or its content cannot be used; carries every problem found at once."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file: its data, the line of every key path, and duplicate keys."""

    file: str
    data: object
    lines: Mapping[KeyPath, int]
    duplicates: tuple[Problem, ...]

    def problem(self, path: KeyPath, message: str, level: str = "error") -> Problem:
        """A problem at `path`, with the line of the nearest key that exists."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return Problem(self.file, path, message, self.lines[path[:end]], level)
        return Problem(self.file, path, message, None, level)


def read_yaml(path: Path, name: str) -> YamlDoc:
    """Read a YAML file with safe_load and map key paths to lines; MenuError if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except FileNotFoundError:
        raise MenuError([Problem(name, (), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MenuError([Problem(name, (), f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise MenuError([Problem(name, (), f"not valid YAML: {reason}", line)]) from None
    lines: dict[KeyPath, int] = {}
    duplicates: list[Problem] = []
    _walk(node, (), name, lines, duplicates)
    return YamlDoc(name, data, lines, tuple(duplicates))


def _walk(node, path: KeyPath, name: str, lines: dict, duplicates: list) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append(Problem(name, (*path, key), "duplicate key", line))
            seen.add(key)
            lines.setdefault((*path, key), line)
            _walk(value_node, (*path, key), name, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault((*path, index), item.start_mark.line + 1)
            _walk(item, (*path, index), name, lines, duplicates)
