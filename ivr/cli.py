"""The `ivr` command: check the menu, serve the line, manage the database."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .lint import lint
from .menus import load_line
from .problems import MenuError


def check(path: str) -> int:
    """Load and lint the menu at `path`; print problems and the topic table; 1 on any error."""
    try:
        line = load_line(path)
    except MenuError as exc:
        for problem in exc.problems:
            print(f"error: {problem}")
        print(f"{len(exc.problems)} errors; the line cannot start with this menu.")
        return 1
    problems, rows = lint(line)
    problems = list(line.warnings) + problems
    for problem in problems:
        print(f"{problem.level}: {problem}")
    print()
    print(f"{'topic':<12} {'lang':<4} {'words':>5} {'secs':>5} {'read':>6} {'before':>6}  sms")
    for r in rows:
        before = f"{r.before:.0f}" if r.before is not None else "-"
        score = f"{r.readability:.1f}" if r.lang == "en" else f"FH{r.readability:.0f}"
        print(
            f"{r.topic:<12} {r.lang:<4} {r.words:>5} {r.seconds:>5.0f} {score:>6} {before:>6}"
            f"  {r.sms.parts} x {r.sms.encoding} ({r.sms.units})"
        )
    print("read: Flesch-Kincaid grade (en, 8 or below) or Fernández-Huerta (es, 70 or above);")
    print("before: seconds of greeting and menus a caller hears before the summary (45 at most).")
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} errors, {warnings} warnings.")
    return 1 if errors else 0


def serve(host: str, port: int) -> int:
    """Run the webhook server under gunicorn; development mode unless IVR_ENV says otherwise."""
    if "IVR_ENV" not in os.environ:
        os.environ["IVR_ENV"] = "development"
        print("ivr serve: IVR_ENV=development (set IVR_ENV=production on a real deployment)")
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    args = ["gunicorn", "--bind", f"{host}:{port}", "--workers", workers, "ivr:create_app()"]
    os.execvp(sys.executable, [sys.executable, "-m", *args])
    return 0  # not reached: exec replaces this process


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ivr` console script."""
    parser = argparse.ArgumentParser(prog="ivr", description="Waterstone helpline tools")
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="validate menus.yaml and content/, and lint them")
    checker.add_argument("path", nargs="?", default="menus.yaml")
    server = commands.add_parser("serve", help="run the webhook server (gunicorn)")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(str(Path(args.path)))
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
