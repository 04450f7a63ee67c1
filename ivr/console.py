"""The console's tools for trying the line: the preview (/staff/preview, and /preview in
development) and the menu map (/staff/map).

Under /staff they take the console's own checks, before every request (signed in, CSRF on
every post) and after it (no caching, no framing). /preview is the same preview without signing
in, registered only when IVR_ENV is development or test: in production it does not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError

from . import edge, staff
from .driver import SimulatorError
from .moments import PreviewError, choices
from .preview import KEYS, MOVES, TEXT_MOST, WORDS_MOST, Played, Preview, call_state, texter
from .sandbox import sandbox
from .schema import LANGS
from .settings import Settings

if TYPE_CHECKING:
    from .menumap import Node

bp = Blueprint("console", __name__, url_prefix="/staff")
dev = Blueprint("preview", __name__)  # /preview: development and test only
for blueprint, signed_in in ((bp, True), (dev, False)):
    blueprint.before_request(staff.check_csrf)
    if signed_in:
        blueprint.before_request(staff.require_login)
    blueprint.after_request(staff.no_caching)
    blueprint.register_error_handler(CSRFError, staff.refused_form)
Answer = Response | tuple[Response, int]


def init_app(app: Flask, settings: Settings) -> None:
    """Add the preview and the map to the console, and /preview in development."""
    app.register_blueprint(bp)
    if settings.development:
        app.register_blueprint(dev)


# The preview -------------------------------------------------------------------------------


def preview_page() -> str:
    """The preview: a keypad, typed words and a texting pane, played against the sandbox."""
    center = edge.line().spec.center
    return render_template(
        "staff/preview.html",
        call_url=url_for(f"{request.blueprint}.preview_call"),
        text_url=url_for(f"{request.blueprint}.preview_text"),
        moments=choices(center, edge.now()),
        zone=center.time_zone,
        keys="123456789*0#",
    )


def preview_call() -> Answer:
    """One step of a preview call: JSON {move, value, state, at} in, the transcript out."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or data.get("move") not in MOVES:
        return _refused("Send a move: call, key, words, silence or hangup.")
    move, value = data["move"], data.get("value", "")
    if not isinstance(value, str) or (move == "key" and value not in KEYS):
        return _refused("A key is one of 0 to 9, * and #.")
    if move == "words":
        value = " ".join(value.split())[:WORDS_MOST]
        move = "words" if value else "silence"
    state = call_state(data.get("state"))
    at = data.get("at", "") if move == "call" else state.at if state else ""
    return _played(lambda preview: preview.call(state, move, value), at)


def preview_text() -> Answer:
    """One text to the line: JSON {body, from, at} in, the replies out."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("body"), str):
        return _refused("Type a message to send.")
    body = data["body"][:TEXT_MOST]
    if not body.strip():
        return _refused("Type a message to send.")
    at = data.get("at", "")
    return _played(lambda preview: preview.text(body), at, texter(data.get("from")))


for blueprint in (bp, dev):
    blueprint.add_url_rule("/preview", view_func=preview_page, methods=["GET"])
    blueprint.add_url_rule("/preview/call", view_func=preview_call, methods=["POST"])
    blueprint.add_url_rule("/preview/text", view_func=preview_text, methods=["POST"])


def _refused(why: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(error=why), status


def _played(step: Callable[[Preview], Played], at: object, caller: str | None = None) -> Answer:
    """Play a step against this app's sandbox; a moment it cannot read is a 400."""
    if not isinstance(at, str):
        return _refused("The moment to play at is not a date and time.")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        preview = Preview(sandbox(app), at, caller) if caller else Preview(sandbox(app), at)
        return jsonify(step(preview).as_json())
    except PreviewError as exc:
        return _refused(f"The moment to play at cannot be read: {exc}.")
    except SimulatorError as exc:
        return _refused(f"The line did not answer as it answers Twilio: {exc}.", 502)


# The map -----------------------------------------------------------------------------------


@bp.get("/map")
def map_page() -> str:
    """The menu map: the picture in one language (?lang=es) and every place in a table."""
    line = edge.line()
    languages = {code: line.spec.languages[code].name for code in LANGS}
    lang = request.args.get("lang", "en")
    lang = lang if lang in languages else "en"
    from . import menumap  # its reading-level measure (textstat) loads only for this page

    root = _map()
    rows = [(node, len(node.keys.split())) for node in menumap.walk(root)]
    return render_template(
        "staff/map.html",
        svg=menumap.as_svg(root, lang),
        rows=rows,
        lang=lang,
        languages=languages,
    )


def _map() -> Node:
    """The map of the loaded menu, built once (reading levels take a while to measure)."""
    from . import menumap

    line = edge.line()
    kept = current_app.extensions.get("ivr.map")
    if kept is None or kept[0] is not line:
        kept = current_app.extensions["ivr.map"] = (line, menumap.build(line))
    root: Node = kept[1]
    return root
