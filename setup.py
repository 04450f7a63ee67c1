"""Build hook: a wheel carries the line's menu, content and migrations under ivr/data/.

They stay at the repository root (menus.yaml, content/, migrations/), where staff edit
them; an installed wheel has no repository, so build_py copies them into the package,
and ivr.settings.shipped() reads the checkout's copy or the packaged one. Everything
else about the package is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("menus.yaml", "content", "migrations")
PACKAGED = Path("ivr", "data")  # inside the wheel; ivr.settings.PACKAGED reads it


def shipped_files() -> list[Path]:
    """Every file under SHIPPED, relative to the repository root; a missing one stops the build."""
    found = []
    for name in SHIPPED:
        path = ROOT / name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: the wheel would have no {name}")
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        found += [
            p.relative_to(ROOT)
            for p in files
            if "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
    return found


class build_py_with_line(build_py):
    """build_py, plus copies of the shipped files in build/lib/ivr/data/."""

    def _copies(self) -> dict[str, str]:
        """Where each shipped file goes in the build folder, from where it is in the checkout."""
        if self.editable_mode:  # an editable install reads the checkout itself
            return {}
        return {
            str(Path(self.build_lib) / PACKAGED / name): str(ROOT / name)
            for name in shipped_files()
        }

    def run(self) -> None:
        super().run()
        for target, source in self._copies().items():
            self.mkpath(str(Path(target).parent))
            self.copy_file(source, target, preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *self._copies()]

    def get_output_mapping(self) -> dict[str, str]:
        return {**super().get_output_mapping(), **self._copies()}

    def get_source_files(self) -> list[str]:
        """What an sdist must hold to build this wheel again."""
        return [*super().get_source_files(), *(str(name) for name in shipped_files())]


setup(cmdclass={"build_py": build_py_with_line})
