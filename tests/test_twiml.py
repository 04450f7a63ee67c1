"""Reply values and their TwiML: exact rendering, the state in URLs, and validity everywhere."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from ivr import call
from ivr.reply import Dial, Gather, Hangup, Record, Redirect, Reply, Say, Where
from ivr.twiml import render, url
from ivr.understand import Heard

from . import twiml_rules

OPEN = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
NIGHT = datetime.fromisoformat("2026-12-01T22:00:00-05:00")
HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


@pytest.fixture(autouse=True)
def in_a_request(app):
    """The renderer builds step URLs from the routes, as it does inside a voice webhook."""
    with app.test_request_context("/voice", method="POST"):
        yield


@pytest.mark.parametrize(
    ("where", "query"),
    [
        (Where(), "l=en&m=main"),
        (
            Where(lang="es", menu="safety", topic="relapse", tries=1, why="no-answer", leg=1),
            "l=es&m=safety&t=relapse&n=1&w=no-answer&g=1",
        ),
    ],
)
def test_where_travels_in_the_query_and_back(line, where, query):
    assert url("menu", where) == f"/voice/menu?{query}"
    parsed = dict(pair.split("=") for pair in query.split("&"))
    assert Where.parse(parsed, line) == where


@pytest.mark.parametrize(
    ("verb", "xml"),
    [
        (
            Say("Hello & <you>"),
            '<Say language="en-US" voice="Polly.Joanna">Hello &amp; &lt;you&gt;</Say>',
        ),
        (
            Say("Despacio", slow=True, lang="es"),
            '<Say language="es-US" voice="Polly.Lupe"><prosody rate="85%">Despacio</prosody></Say>',
        ),
        (
            Dial("+12032450412", Where(why="asked")),
            '<Dial action="/voice/dialed?l=en&amp;m=main&amp;w=asked" method="POST" timeout="20">'
            '<Number method="POST" url="/voice/whisper?l=en&amp;m=main&amp;w=asked">+12032450412'
            "</Number></Dial>",
        ),
        (Dial("+12032450412", Where(), plain=True), '<Dial timeout="20">+12032450412</Dial>'),
        (
            Record(Where(lang="es")),
            '<Record action="/voice/recorded?l=es&amp;m=main" finishOnKey="#" maxLength="120" '
            'method="POST" playBeep="true" timeout="10" />',
        ),
        (
            Redirect("menu", Where()),
            '<Redirect method="POST">/voice/menu?l=en&amp;m=main</Redirect>',
        ),
        (Hangup(), "<Hangup />"),
        (
            Gather((Say("Press 1."),), "accept", Where(), speech=False),
            '<Gather action="/voice/accept?l=en&amp;m=main" actionOnEmptyResult="true" '
            'input="dtmf" method="POST" numDigits="1" timeout="10">'
            '<Say language="en-US" voice="Polly.Joanna">Press 1.</Say></Gather>',
        ),
        (
            Gather((Say("Hola."),), "menu", Where(lang="es"), ("ayuda", "consejero")),
            '<Gather action="/voice/menu?l=es&amp;m=main" actionOnEmptyResult="true" '
            'hints="ayuda, consejero" input="dtmf speech" language="es-US" method="POST" '
            'numDigits="1" speechTimeout="auto" timeout="10">'
            + '<Say language="es-US" voice="Polly.Lupe">Hola.</Say></Gather>',
        ),
    ],
)
def test_each_verb_renders_exactly(line, verb, xml):
    lang = "es" if isinstance(verb, Gather) and verb.where.lang == "es" else "en"
    assert render(Reply(lang, (verb,)), line) == f"{HEAD}<Response>{xml}</Response>"


def test_an_empty_reply_is_an_empty_response(line):
    assert render(Reply("en", ()), line) == f"{HEAD}<Response />"


KEYS = [None, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "?"]


def test_every_decision_renders_valid_twiml(line):
    """Every menu, summary and safety net, every key, both languages, in and out of hours."""
    places = [Where(lang=lang, menu=m) for m in line.spec.menus for lang in ("en", "es")]
    topics = [Where(lang=lang, topic=t) for t in line.spec.topics for lang in ("en", "es")]
    nets = [
        Where(lang=lang, why=why) for why in ("no-answer", "after-hours") for lang in ("en", "es")
    ]
    checked = 0
    for now, key, tries in itertools.product((OPEN, NIGHT), KEYS, (0, 1, 4)):
        heard = Heard(key=key)
        decisions = [call.at_menu(line, w.to(tries=tries), heard, now) for w in places]
        decisions += [call.at_summary(line, w.to(tries=tries), heard, now) for w in topics]
        decisions += [call.at_message(line, w.to(tries=tries), heard, now) for w in nets]
        for decision in decisions:
            if isinstance(decision, call.Effect):
                continue
            twiml_rules.check(render(decision, line))
            checked += 1
    for status, accepted in itertools.product(
        ("completed", "busy", "no-answer", ""), (True, False)
    ):
        twiml_rules.check(render(call.dialed(line, Where(), status, accepted, OPEN), line))
    assert checked > 2000
