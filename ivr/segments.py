"""SMS segments: how many parts a text costs in GSM-7 or UCS-2, and GSM-safe spelling."""

from __future__ import annotations

from dataclasses import dataclass

# The GSM 03.38 basic set, and the extension set whose characters count twice.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")

# Spanish and typographic characters outside GSM-7, spelled the way Twilio's
# Smart Encoding would, so one accent does not halve what a text can hold.
GSM_SPELLING = str.maketrans(
    {
        "á": "a",
        "í": "i",
        "ó": "o",
        "ú": "u",
        "Á": "A",
        "Í": "I",
        "Ó": "O",
        "Ú": "U",
        "â": "a",
        "ê": "e",
        "î": "i",
        "ô": "o",
        "û": "u",
        "ç": "c",
        "ï": "i",
        "ë": "e",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "\u00a0": " ",
        "\u200b": "",
    }
)


@dataclass(frozen=True)
class Segments:
    """What a text costs: its encoding, its length in that encoding, and how many parts."""

    encoding: str
    units: int
    parts: int


def is_gsm(text: str) -> bool:
    """True when every character fits the GSM-7 alphabet."""
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def gsm_spelling(text: str) -> str:
    """Replace accents and typographic marks that force UCS-2 with GSM-7 look-alikes."""
    return text.translate(GSM_SPELLING)


def count(text: str) -> Segments:
    """Count the segments Twilio bills for `text` (153 or 67 per part once split)."""
    if is_gsm(text):
        units = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji takes two.
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    parts = 1 if units <= single else -(-units // multi)
    return Segments(encoding, units, parts)
