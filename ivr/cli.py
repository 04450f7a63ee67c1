"""The `ivr` command: check the menu, serve the line, manage the database."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from zoneinfo import ZoneInfo

from . import accounts, app_settings, create_app, golive, menumap, menus_path, migrate
from . import evaluate as evaluation
from . import model as crisis_model
from .lint import lint
from .menus import load_line
from .outbound import rest_client
from .problems import MenuError
from .settings import SettingsError, parse_now
from .simulator import Simulator, SimulatorError
from .store import Store, StoreError, engine_for

if TYPE_CHECKING:
    from flask import Flask


class Parser(argparse.ArgumentParser):
    """argparse, answering a usage error with one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print what is wrong and where to read more, then exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def twilio_configure(number: str, base_url: str, dry_run: bool) -> int:
    """Point a Twilio number's webhooks at a deployment; print what changed. 1 on failure."""
    from twilio.base.exceptions import TwilioException

    settings = app_settings()
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        print("error: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN first", file=sys.stderr)
        return 1
    try:
        done = golive.configure(rest_client(settings), number, base_url, dry_run)
    except golive.GoLiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (TwilioException, OSError) as exc:
        print(f"error: Twilio refused: {exc}", file=sys.stderr)
        return 1
    print(f"{base_url.rstrip('/')}/healthz answers over HTTPS: the line is up.")
    for change in done:
        print(f"  {change.field}: {change.before or '(not set)'} -> {change.after}")
    if not done:
        print(f"{number} already points at {base_url}: nothing to change.")
    elif dry_run:
        print(f"Dry run: {_count(len(done), 'setting')} of {number} would change; none did.")
    else:
        print(f"Changed {_count(len(done), 'setting')} of {number}.")
    return 0


def show_map(path: str, form: str, lang: str) -> int:
    """Print the menu's map as a tree, an SVG picture or JSON; 1 when the menu does not load."""
    try:
        line = load_line(path)
    except MenuError as exc:
        print(f"error: {exc.problems[0]} (run `ivr check` for all)", file=sys.stderr)
        return 1
    root = menumap.build(line)
    if form == "json":
        print(menumap.as_json(root), end="")
    elif form == "svg":
        print(menumap.as_svg(root, lang), end="")
    else:
        print(menumap.as_tree(root, lang), end="")
    return 0


def check(path: str) -> int:
    """Load and lint the menu at `path`; print problems and the topic table; 1 on any error."""
    try:
        line = load_line(path)
    except MenuError as exc:
        for problem in exc.problems:
            print(f"error: {problem}")
        print(f"{_count(len(exc.problems), 'error')}; the line cannot start with this menu.")
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
    print(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}.")
    return 1 if errors else 0


def evaluate(path: str, corpus: str, show_wrong: bool, strict: bool = False) -> int:
    """Measure understanding on the labelled corpus.

    Exits 1 when the held-out part falls below the figures it reached before (FLOORS),
    or, with --targets, below issue 9's targets.
    """
    line = load_line(path)
    held = None
    for part in evaluation.PARTS:
        figures = evaluation.measure(line, evaluation.load(Path(corpus) / f"{part}.yaml"))
        print("\n".join(evaluation.table(part, figures)))
        if show_wrong and part != "holdout":  # the held-out part's misses are not for tuning
            for lang, f in figures.items():
                print("\n".join(f"  {part} {lang}: {wrong}" for wrong in f.wrong))
        if part == "holdout":
            held = figures
    assert held is not None
    targets = {lang: evaluation.TARGETS for lang in held}
    below_target = evaluation.shortfalls(held, targets)
    regressed = evaluation.shortfalls(held, evaluation.FLOORS)
    t = evaluation.TARGETS
    print(
        f"targets on holdout, each language: crisis recall >= {t['recall']:.0%}, false alarms "
        f"<= {t['false_alarms']:.0%}, topic accuracy >= {t['topic']:.0%}, right language "
        f">= {t['language']:.0%}"
    )
    for miss in below_target:
        print(f"not yet: {miss}")
    for miss in regressed:
        print(f"WORSE than before: {miss}")
    return 1 if regressed or (strict and below_target) else 0


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


def _menu_file(path: str | None) -> Path:
    """The menu a command reads: the one named, else IVR_MENUS, else the shipped menu."""
    return Path(path) if path else menus_path(os.environ.get("IVR_MENUS", ""))


def _store() -> Store:
    settings = app_settings()
    return Store(settings.DATABASE_URL, settings.SECRET_KEY)


def _count(n: int, what: str) -> str:
    """'1 error', '2 errors'."""
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def db(action: str, revision: str | None, quiet: bool = False, yes: bool = False) -> int:
    """Apply (upgrade) or undo (downgrade) migrations on DATABASE_URL.

    Undoing migrations deletes what they hold (people waiting, opt-outs), so it asks first.
    """
    if action == "downgrade" and not yes:
        target = revision or "base"
        print(f"This undoes migrations down to {target} and DELETES what those tables hold:")
        print("people waiting for a call back, voicemails, opt-outs and reports.")
        try:
            answer = input("Type 'delete' to go on: ") if sys.stdin.isatty() else ""
        except EOFError:
            answer = ""
        if answer.strip() != "delete":
            print("Nothing was changed. (Pass --yes to skip this question.)")
            return 1
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


def database_failed(command: str, exc: StoreError) -> int:
    """Say on stderr why a command could not use the database, plainly; exit status 1."""
    reason = f"{exc} {exc.__cause__ or ''}"  # the driver's words are on the cause
    if re.search(r"no such table|does not exist|UndefinedTable", reason, re.I):
        print(
            f"{command} failed: the database has no tables yet; run `ivr db upgrade` first.",
            file=sys.stderr,
        )
    else:
        print(f"{command} failed: the database could not do it ({exc})", file=sys.stderr)
    return 1


def purge(older_than: timedelta | None) -> int:
    """Delete handled requests, events and deliveries past the retention period."""
    settings = app_settings()
    age = older_than or timedelta(days=settings.IVR_RETENTION_DAYS)
    now = settings.now() or datetime.now(UTC)
    try:
        done = _store().purge(now - age)
    except StoreError as exc:
        return database_failed("purge", exc)
    print(
        f"purged rows older than {age.days} days: {done.requests} handled voicemails and "
        f"call-backs, {done.events} events, {done.deliveries} delivery records"
    )
    return 0


def _local_app(at: str | None) -> Flask:
    """The app as `ivr serve` runs it (development unless IVR_ENV says otherwise), migrated."""
    os.environ.setdefault("IVR_ENV", "development")
    if at:
        os.environ["IVR_NOW"] = at
    db("upgrade", None, quiet=True)
    return create_app()


def moment(value: str) -> str:
    """An --at time, checked as IVR_NOW will read it: ISO 8601 with its UTC offset."""
    try:
        parse_now(value)
    except SettingsError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("IVR_NOW: ")) from exc
    return value


def phone(value: str) -> str:
    """A --from number in E.164, as Twilio sends it."""
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", value):
        raise argparse.ArgumentTypeError(f"not a number like +12035550100: {value!r}")
    return value


def _simulate(command: str, at: str | None, caller: str, play: Callable[[Simulator], None]) -> int:
    """Run one simulation: Ctrl-D hangs up, Ctrl-C stops, a fault is one line and exit 1."""
    try:
        simulator = Simulator(_local_app(at), input, print, caller)
        print(simulator.clock())
        play(simulator)
    except EOFError:
        print("\n[you hung up]")
    except KeyboardInterrupt:
        print("\n[stopped]")
        return 130
    except (MenuError, SettingsError, SimulatorError, StoreError) as exc:
        print(f"ivr {command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def simulate_call(at: str | None, caller: str) -> int:
    """Play a whole call in the terminal: what the line says, and your keys or words."""
    return _simulate("call", at, caller, Simulator.call)


def simulate_text(words: list[str], at: str | None, caller: str) -> int:
    """Send one text to the line and print its reply, or why it sent none."""

    def exchange(simulator: Simulator) -> None:
        reply = simulator.text(" ".join(words))
        print(reply if reply is not None else f"[no reply: {simulator.withheld()}]")

    return _simulate("text", at, caller, exchange)


def _center_zone() -> ZoneInfo | None:
    """The center's time zone from the menu; None (this machine's) if the menu does not load."""
    try:
        return ZoneInfo(load_line(menus_path(app_settings().IVR_MENUS)).spec.center.time_zone)
    except MenuError:
        return None


def queue() -> int:
    """List the people waiting for a counselor: voicemails and call-back requests."""
    try:
        waiting = _store().waiting()
    except StoreError as exc:
        return database_failed("queue", exc)
    if not waiting:
        print("No one is waiting.")
    zone = _center_zone() if waiting else None
    for r in waiting:
        when = r.at.astimezone(zone).strftime("%a %d %b %H:%M %Z")
        extra = f" recording {r.recording_url} ({r.recording_seconds} s)" if r.recording_url else ""
        topic = f" after {r.topic}" if r.topic else ""
        print(f"#{r.id} {when} {r.kind} by {r.channel} in {r.language}{topic}: {r.number}{extra}")
    return 0


def handle(request_id: int, by: str) -> int:
    """Mark a voicemail or call-back as handled by a staff member."""
    try:
        done = _store().handle(request_id, by, datetime.now(UTC))
    except StoreError as exc:
        return database_failed("handle", exc)
    print(f"#{request_id} handled by {by}." if done else f"#{request_id} is not waiting.")
    return 0 if done else 1


# Staff accounts (the staff console) ----------------------------------------------------


def staff_email(value: str) -> str:
    """An EMAIL argument, as accounts keep it (lower case)."""
    try:
        return accounts.normal_email(value)
    except accounts.AccountError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def staff_phone(value: str) -> str:
    """A --phone argument, in E.164."""
    try:
        return accounts.normal_phone(value)
    except accounts.AccountError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def read_password(from_stdin: bool) -> str:
    """A new password: one line of standard input, or typed twice, unseen, at a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise accounts.AccountError("no terminal to ask for the password on: use --password-stdin")
    else:
        password = getpass.getpass(f"New password ({accounts.MIN_PASSWORD} characters or more): ")
        if getpass.getpass("The same password again: ") != password:
            raise accounts.AccountError("the two passwords differ")
    accounts.check_password(password)
    return password


def _who() -> str:
    """Who ran a staff command, for the audit list: the command line and the system user."""
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):  # no user name for this process
        return "command line"


def staff(args: argparse.Namespace) -> int:
    """Add, remove or list staff accounts, or set a password; one line and exit 1 on failure."""
    action = {
        "add": _staff_add,
        "remove": _staff_remove,
        "passwd": _staff_passwd,
        "phone": _staff_phone,
    }
    try:
        if args.action == "list":
            return _staff_list()
        return action[args.action](args)
    except accounts.AccountError as exc:
        print(f"ivr staff {args.action}: {exc}; nothing was changed", file=sys.stderr)
    except StoreError as exc:
        return database_failed(f"ivr staff {args.action}", exc)
    return 1


def _staff_add(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    now = datetime.now(UTC)
    if not _store().add_staff(
        args.email, args.role, accounts.hash_password(password), now, _who(), args.phone
    ):
        raise accounts.AccountError(f"{args.email} has an account already")
    print(f"{args.email} added as {args.role}; they sign in at /staff/login.")
    return 0


def _staff_remove(args: argparse.Namespace) -> int:
    if not _store().remove_staff(args.email, datetime.now(UTC), _who()):
        raise accounts.AccountError(f"{args.email} has no account")
    print(f"{args.email} removed; their sessions end at their next click.")
    return 0


def _staff_passwd(args: argparse.Namespace) -> int:
    store = _store()
    if store.staff_member(args.email) is None:  # before asking for a password
        raise accounts.AccountError(f"{args.email} has no account")
    password_hash = accounts.hash_password(read_password(args.password_stdin))
    if not store.set_password(args.email, password_hash, datetime.now(UTC), _who()):
        raise accounts.AccountError(f"{args.email} has no account")
    print(f"{args.email} has a new password (and is unlocked); older sessions are signed out.")
    return 0


def _staff_phone(args: argparse.Namespace) -> int:
    phone = None if args.phone.strip().lower() == "none" else accounts.normal_phone(args.phone)
    if not _store().set_staff_phone(args.email, phone, datetime.now(UTC), _who()):
        raise accounts.AccountError(f"{args.email} has no account")
    if phone is None:
        print(f"{args.email} has no phone now; the console will not ring them to call back.")
    else:
        print(f"{args.email} will be rung at {phone} to call back as the center.")
    return 0


def _staff_list() -> int:
    members = _store().staff_members()
    if not members:
        print("No staff accounts. Add the first admin: ivr staff add EMAIL --role admin")
    now = datetime.now(UTC)
    for m in members:
        locked = m.locked_until is not None and m.locked_until > now
        print(
            f"{m.email:<40} {m.role:<9} {m.phone or 'no phone':<16}"
            f" added {m.created_at:%Y-%m-%d}{'  LOCKED' if locked else ''}"
        )
    return 0


def serve(host: str, port: int) -> int:
    """Run the webhook server under gunicorn; development mode unless IVR_ENV says otherwise."""
    if "IVR_ENV" not in os.environ:
        os.environ["IVR_ENV"] = "development"
        print("ivr serve: IVR_ENV=development (set IVR_ENV=production on a real deployment)")
    try:
        load_line(menus_path(os.environ.get("IVR_MENUS", "")))
    except MenuError as exc:  # say it here, once, before gunicorn forks workers that each fail
        for problem in exc.problems:
            print(f"error: {problem}")
        print(f"ivr serve: {_count(len(exc.problems), 'error')} in the menu; fix, then run again.")
        return 1
    db("upgrade", None)
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    args = ["gunicorn", "--bind", f"{host}:{port}", "--workers", workers, "ivr:create_app()"]
    os.execvp(sys.executable, [sys.executable, "-m", *args])  # replaces this process


def build_parser() -> argparse.ArgumentParser:
    """The `ivr` command line: every command and option, each with its help."""
    parser = Parser(prog="ivr", description="Waterstone helpline tools")
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="validate menus.yaml and content/, and lint them")
    checker.add_argument(
        "path", nargs="?", help="the menu file to check (default: IVR_MENUS, or the shipped one)"
    )
    twilio = commands.add_parser("twilio", help="set up the Twilio number (going live)")
    twilio_actions = twilio.add_subparsers(
        dest="action", required=True, help="what to set up on the Twilio account"
    )
    configure = twilio_actions.add_parser(
        "configure",
        help="point a number's voice and messaging webhooks, fallbacks and status callback here",
    )
    configure.add_argument("--number", required=True, help="the Twilio number, E.164 (+1...)")
    configure.add_argument(
        "--base-url", required=True, help="where the line is deployed, https://... (no path)"
    )
    configure.add_argument(
        "--dry-run", action="store_true", help="show what would change, change nothing"
    )
    mapper = commands.add_parser(
        "map", help="the phone menu as a tree: keys, seconds to reach each place, reading level"
    )
    mapper.add_argument("path", nargs="?", help="the menu file to map (default as for check)")
    mapper.add_argument(
        "--format",
        choices=("tree", "svg", "json"),
        default="tree",
        help="tree (default), svg, json",
    )
    mapper.add_argument("--lang", choices=("en", "es"), default="en", help="for tree and svg")
    evaluator = commands.add_parser(
        "eval", help="measure crisis, topic and language understanding on labelled messages"
    )
    evaluator.add_argument("path", nargs="?", help="the menu file to use (default as for check)")
    evaluator.add_argument(
        "--corpus", default="tests/corpus", help="folder of tune.yaml, holdout.yaml"
    )
    evaluator.add_argument("--wrong", action="store_true", help="list every tuning message misread")
    evaluator.add_argument(
        "--targets", action="store_true", help="exit 1 unless issue 9's targets are met"
    )
    trainer = commands.add_parser(
        "train", help="fit the crisis model on the tuning messages (needs the train extra)"
    )
    trainer.add_argument("path", nargs="?", help="the menu file to use (default as for check)")
    trainer.add_argument(
        "--corpus", default="tests/corpus/tune.yaml", help="the labelled tuning messages"
    )
    trainer.add_argument(
        "--out",
        default=str(crisis_model.MODEL_FILE.parent),
        help="folder to write the model files to (default: beside the code)",
    )
    server = commands.add_parser("serve", help="run the webhook server (gunicorn)")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on")
    server.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "5000")),
        help="port to listen on (default: PORT, else 5000)",
    )
    database = commands.add_parser("db", help="apply or undo database migrations")
    database.add_argument(
        "action", choices=["upgrade", "downgrade"], help="apply or undo migrations"
    )
    database.add_argument(
        "revision", nargs="?", help="where to stop (default: head to upgrade, base to downgrade)"
    )
    database.add_argument(
        "--yes", action="store_true", help="downgrade without asking (it deletes data)"
    )
    purger = commands.add_parser("purge", help="delete records past the retention period")
    purger.add_argument(
        "--older-than",
        type=parse_age,
        default=None,
        metavar="AGE",
        help="such as 90d (default: IVR_RETENTION_DAYS)",
    )
    caller = commands.add_parser("call", help="try the phone menu in the terminal")
    texter = commands.add_parser("text", help="send the text line a message, print its reply")
    texter.add_argument("words", nargs="+", help="the message, such as: info metadona")
    for simulated in (caller, texter):
        simulated.add_argument(
            "--at",
            type=moment,
            help="act as if it were this ISO 8601 time with its offset (IVR_NOW), "
            "such as 2026-12-25T10:00:00-05:00",
        )
        simulated.add_argument(
            "--from",
            dest="number",
            type=phone,
            default="+12035550100",
            help="the caller's number (default: a fictional +12035550100)",
        )
    commands.add_parser("queue", help="list voicemails and call-backs waiting for staff")
    handler = commands.add_parser("handle", help="mark a voicemail or call-back handled")
    handler.add_argument("id", type=int, help="the number after # in `ivr queue`")
    handler.add_argument("--by", required=True, help="the staff member's name")
    _staff_parser(commands)
    return parser


def _staff_parser(commands: argparse._SubParsersAction[Parser]) -> None:
    """`ivr staff add|remove|passwd|list`: the accounts of the staff console."""
    staffer = commands.add_parser("staff", help="add, remove or list staff console accounts")
    actions = staffer.add_subparsers(
        dest="action", required=True, help="what to do with staff accounts"
    )
    adder = actions.add_parser("add", help="add a counselor or an admin (asks for a password)")
    adder.add_argument("--role", required=True, choices=accounts.ROLES, help="what they may see")
    adder.add_argument(
        "--phone", type=staff_phone, help="their phone for call-backs, in E.164 (+12035550100)"
    )
    remover = actions.add_parser("remove", help="delete an account (the audit list keeps it)")
    passwd = actions.add_parser("passwd", help="set a new password (and unlock the account)")
    phoner = actions.add_parser(
        "phone", help="set the phone the console rings to call back as the center"
    )
    actions.add_parser("list", help="list every account, its role and phone")
    for command in (adder, remover, passwd, phoner):
        command.add_argument("email", type=staff_email, help="the staff member's email")
    phoner.add_argument("phone", help="their own phone in E.164 (+12035550100), or none")
    for command in (adder, passwd):
        command.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from one line of standard input (scripts), not a terminal",
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ivr` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return check(str(_menu_file(args.path)))
    if args.command == "twilio":
        return twilio_configure(args.number, args.base_url, args.dry_run)
    if args.command == "map":
        return show_map(str(_menu_file(args.path)), args.format, args.lang)
    if args.command == "eval":
        return evaluate(str(_menu_file(args.path)), args.corpus, args.wrong, args.targets)
    if args.command == "train":
        return train(str(_menu_file(args.path)), args.corpus, args.out)
    if args.command == "db":
        return db(args.action, args.revision, yes=args.yes)
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
    if args.command == "staff":
        return staff(args)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
