"""The `ivr` command: check the menu, serve the line, manage the database."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import app_settings, create_app, migrate
from . import evaluate as evaluation
from . import model as crisis_model
from .lint import lint
from .menus import load_line
from .problems import MenuError
from .simulator import Simulator
from .store import Store, StoreError, engine_for


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
    print("before: seconds of greeting and menus heard before the summary (45 at most).")
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} errors, {warnings} warnings.")
    return 1 if errors else 0


def evaluate(path: str, corpus: str, show_wrong: bool) -> int:
    """Measure understanding on the labelled corpus; 1 when the held-out part misses a target."""
    line = load_line(path)
    missed: list[str] = []
    for part in evaluation.PARTS:
        figures = evaluation.measure(line, evaluation.load(Path(corpus) / f"{part}.yaml"))
        print("\n".join(evaluation.table(part, figures)))
        if show_wrong:
            for lang, f in figures.items():
                print("\n".join(f"  {part} {lang}: {wrong}" for wrong in f.wrong))
        if part == "holdout":
            missed = evaluation.shortfalls(figures)
    targets = evaluation.TARGETS
    print(
        f"targets on holdout, each language: crisis recall >= {targets['recall']:.0%}, "
        f"false alarms <= {targets['false_alarms']:.0%}, topic accuracy >= {targets['topic']:.0%}, "
        f"right language >= {targets['language']:.0%}"
    )
    for miss in missed:
        print(f"missed: {miss}")
    return 1 if missed else 0


def train(path: str, corpus: str, folder: str) -> int:
    """Fit the crisis and topic models on the tuning messages, where the line loads them."""
    messages = evaluation.load(Path(corpus))
    topics = ("none", *load_line(path).spec.topics)
    for name, trained in (
        ("crisis_model.json", crisis_model.train((m.text, m.crisis) for m in messages)),
        (
            "topic_model.json",
            crisis_model.train(
                ((m.text, m.topic) for m in messages), topics, crisis_model.TOPIC_THRESHOLD
            ),
        ),
    ):
        out = Path(folder) / name
        out.write_text(crisis_model.dump(trained))
        print(f"{name}: {trained['messages']} messages, {len(trained['weights'])} features")
    return 0


def _store() -> Store:
    settings = app_settings()
    return Store(settings.DATABASE_URL, settings.SECRET_KEY)


def db(action: str, revision: str | None, quiet: bool = False) -> int:
    """Apply (upgrade) or undo (downgrade) migrations on DATABASE_URL."""
    engine = engine_for(app_settings().DATABASE_URL)
    if action == "upgrade":
        migrate.upgrade(engine, revision or "head")
    else:
        migrate.downgrade(engine, revision or "base")
    if not quiet:
        print(f"database {action}d to {revision or ('head' if action == 'upgrade' else 'base')}")
    return 0


def parse_age(value: str) -> timedelta:
    """Read an age such as 90d, 12h or 30 (days)."""
    units = {"d": "days", "h": "hours", "w": "weeks"}
    number, unit = (value[:-1], value[-1]) if value[-1:] in units else (value, "d")
    if not number.isdigit():
        raise argparse.ArgumentTypeError(f"not an age like 90d: {value!r}")
    return timedelta(**{units[unit]: int(number)})


def purge(older_than: timedelta | None) -> int:
    """Delete handled requests, events and deliveries past the retention period."""
    settings = app_settings()
    age = older_than or timedelta(days=settings.IVR_RETENTION_DAYS)
    now = settings.now() or datetime.now(UTC)
    try:
        done = _store().purge(now - age)
    except StoreError as exc:
        print(f"purge failed: database error {exc}", file=sys.stderr)
        return 1
    print(
        f"purged rows older than {age.days} days: {done.requests} handled voicemails and "
        f"call-backs, {done.events} events, {done.deliveries} delivery records"
    )
    return 0


def _local_app(at: str | None):
    """The app as `ivr serve` runs it (development unless IVR_ENV says otherwise), migrated."""
    os.environ.setdefault("IVR_ENV", "development")
    if at:
        os.environ["IVR_NOW"] = at
    db("upgrade", None, quiet=True)
    return create_app()


def simulate_call(at: str | None, caller: str) -> int:
    """Play a whole call in the terminal: what the line says, and your keys or words."""
    Simulator(_local_app(at), input, print, caller).call()
    return 0


def simulate_text(words: list[str], at: str | None, caller: str) -> int:
    """Send one text to the line and print its reply."""
    reply = Simulator(_local_app(at), input, print, caller).text(" ".join(words))
    print(reply if reply is not None else "[no reply: the line stays silent]")
    return 0


def queue() -> int:
    """List the people waiting for a counselor: voicemails and call-back requests."""
    waiting = _store().waiting()
    if not waiting:
        print("No one is waiting.")
    for r in waiting:
        when = r.at.astimezone().strftime("%a %d %b %H:%M")
        extra = f" recording {r.recording_url} ({r.recording_seconds} s)" if r.recording_url else ""
        topic = f" after {r.topic}" if r.topic else ""
        print(f"#{r.id} {when} {r.kind} by {r.channel} in {r.language}{topic}: {r.number}{extra}")
    return 0


def handle(request_id: int, by: str) -> int:
    """Mark a voicemail or call-back as handled by a staff member."""
    done = _store().handle(request_id, by, datetime.now(UTC))
    print(f"#{request_id} handled by {by}." if done else f"#{request_id} is not waiting.")
    return 0 if done else 1


def serve(host: str, port: int) -> int:
    """Run the webhook server under gunicorn; development mode unless IVR_ENV says otherwise."""
    if "IVR_ENV" not in os.environ:
        os.environ["IVR_ENV"] = "development"
        print("ivr serve: IVR_ENV=development (set IVR_ENV=production on a real deployment)")
    db("upgrade", None)
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
    evaluator = commands.add_parser(
        "eval", help="measure crisis, topic and language understanding on labelled messages"
    )
    evaluator.add_argument("path", nargs="?", default="menus.yaml")
    evaluator.add_argument(
        "--corpus", default="tests/corpus", help="folder of tune.yaml, holdout.yaml"
    )
    evaluator.add_argument("--wrong", action="store_true", help="list every message misread")
    trainer = commands.add_parser(
        "train", help="fit the crisis model on the tuning messages (needs the train extra)"
    )
    trainer.add_argument("path", nargs="?", default="menus.yaml")
    trainer.add_argument("--corpus", default="tests/corpus/tune.yaml")
    trainer.add_argument("--out", default=str(crisis_model.MODEL_FILE.parent), help="folder")
    server = commands.add_parser("serve", help="run the webhook server (gunicorn)")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    database = commands.add_parser("db", help="apply or undo database migrations")
    database.add_argument("action", choices=["upgrade", "downgrade"])
    database.add_argument("revision", nargs="?")
    purger = commands.add_parser("purge", help="delete records past the retention period")
    purger.add_argument(
        "--older-than",
        type=parse_age,
        default=None,
        metavar="AGE",
        help="such as 90d (default: IVR_RETENTION_DAYS)",
    )
    caller = commands.add_parser("call", help="try the phone menu in the terminal")
    caller.add_argument("--at", help="act as if it were this ISO 8601 time (IVR_NOW)")
    caller.add_argument("--from", dest="number", default="+12035550100")
    texter = commands.add_parser("text", help="send the text line a message")
    texter.add_argument("words", nargs="+")
    texter.add_argument("--at", help="act as if it were this ISO 8601 time (IVR_NOW)")
    texter.add_argument("--from", dest="number", default="+12035550100")
    commands.add_parser("queue", help="list voicemails and call-backs waiting for staff")
    handler = commands.add_parser("handle", help="mark a voicemail or call-back handled")
    handler.add_argument("id", type=int)
    handler.add_argument("--by", required=True, help="the staff member's name")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(str(Path(args.path)))
    if args.command == "eval":
        return evaluate(str(Path(args.path)), args.corpus, args.wrong)
    if args.command == "train":
        return train(str(Path(args.path)), args.corpus, args.out)
    if args.command == "db":
        return db(args.action, args.revision)
    if args.command == "purge":
        return purge(args.older_than)
    if args.command == "call":
        return simulate_call(args.at, args.number)
    if args.command == "text":
        return simulate_text(args.words, args.at, args.number)
    if args.command == "queue":
        return queue()
    if args.command == "handle":
        return handle(args.id, args.by)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
