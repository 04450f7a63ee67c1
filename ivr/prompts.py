"""The words a caller hears, composed from the menu: pure functions of Line and language."""

from __future__ import annotations

from .menus import Line
from .wording import fill

WORDS_PER_MINUTE = 150
OTHER = {"en": "es", "es": "en"}
KEY_NAMES = {"en": {"*": "star", "#": "pound"}, "es": {"*": "asterisco", "#": "la tecla de número"}}


def key_name(key: str, lang: str) -> str:
    """How a key is said: digits as themselves, * as star."""
    return KEY_NAMES[lang].get(key, key)


def say(line: Line, name: str, lang: str, **fields: str) -> str:
    """A fixed message in `lang` with its placeholders filled in."""
    return fill(getattr(line.spec.messages, name)[lang], **fields)


def keys_for(line: Line, lang: str) -> dict[str, str]:
    """The reserved keys, as said in `lang`, ready to fill a message."""
    return {name: key_name(key, lang) for name, key in line.spec.keys.model_dump().items()}


def options_prompt(line: Line, menu_id: str, lang: str) -> str:
    """'For X, press 1.' for each option of a menu, then the counselor and navigation keys."""
    menu = line.spec.menus[menu_id]
    keys = keys_for(line, lang)
    parts = [menu.intro[lang]] if menu.intro else []
    parts += [
        say(line, "option", lang, label=o.label[lang], key=str(n))
        for n, o in enumerate(menu.options, 1)
    ]
    parts.append(say(line, "counselor_option", lang, counselor=keys["counselor"]))
    parts.append(say(line, "menu_keys", lang, repeat=keys["repeat"]))
    if menu_id != "main":
        parts.append(say(line, "back_option", lang, back=keys["back"]))
    return " ".join(parts)


def greeting(line: Line, lang: str) -> str:
    """What a caller hears first: who we are and the 911 sentence, then the other language."""
    return f"{say(line, 'greeting', lang)} {language_offer(line, lang)}"


def language_offer(line: Line, lang: str) -> str:
    """The key for the other language, said in that language (and by its voice)."""
    other = OTHER[lang]
    return say(line, "language_offer", other, key=key_name(line.spec.keys.language, other))


def summary_prompt(line: Line, lang: str) -> str:
    """What follows a summary: again, by text, counselor, back."""
    keys = keys_for(line, lang)
    return say(line, "after_summary", lang, counselor=keys["counselor"], back=keys["back"])


def seconds(text: str) -> float:
    """Estimated speaking time at 150 words a minute."""
    return len(text.split()) * 60 / WORDS_PER_MINUTE


def seconds_before(line: Line, topic_id: str, lang: str) -> float | None:
    """Seconds of greeting and menus a caller hears before the summary of `topic_id`."""
    for menu_id, menu in line.spec.menus.items():
        if any(o.topic == topic_id for o in menu.options):
            heard = [greeting(line, lang)] + [
                options_prompt(line, m, lang) for m in line.path_to(menu_id)
            ]
            return seconds(" ".join(heard))
    return None
