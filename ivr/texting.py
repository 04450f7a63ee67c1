"""What the line texts: topic replies and fixed texts, spelled to fit GSM-7 where it can."""

from __future__ import annotations

from .menus import Line
from .segments import gsm_spelling


def outgoing(text: str) -> str:
    """The exact body sent: single spaces, accents that would force UCS-2 replaced."""
    return gsm_spelling(" ".join(text.split()))


def topic_text(line: Line, topic_id: str, lang: str) -> str:
    """A topic's text version followed by how to reach a person."""
    body = line.content[topic_id].text[lang]
    return outgoing(f"{body} {line.spec.messages.sms_footer[lang]}")


def menu_text(line: Line, lang: str) -> str:
    """The list of keywords a texter can send, one per topic."""
    words = ", ".join(topic.keywords[lang][0] for topic in line.spec.topics.values())
    return outgoing(line.spec.messages.sms_menu[lang].format(keywords=words))
