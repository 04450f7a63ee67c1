"""SMS segments as Twilio bills them, and the spelling that keeps Spanish in GSM-7."""

from __future__ import annotations

import pytest

from ivr import segments, texting

CASES = [
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("{" * 80, "GSM-7", 160, 1),
    ("€" * 81, "GSM-7", 162, 2),
    ("ñé¿¡ü" * 32, "GSM-7", 160, 1),
    ("á" * 70, "UCS-2", 70, 1),
    ("á" * 71, "UCS-2", 71, 2),
    ("á" * 134, "UCS-2", 134, 2),
    ("á" * 135, "UCS-2", 135, 3),
    ("🙂" * 35, "UCS-2", 70, 1),
    ("", "GSM-7", 0, 1),
]


@pytest.mark.parametrize(("text", "encoding", "units", "parts"), CASES)
def test_count(text, encoding, units, parts):
    assert segments.count(text) == segments.Segments(encoding, units, parts)


def test_spanish_spelling_stays_gsm():
    sent = texting.outgoing("¿Información útil?  Llame — ahora… “sí”")
    assert sent == '¿Informacion util? Llame - ahora... "si"'
    assert segments.is_gsm(sent)


def test_topic_text_ends_with_a_person(line):
    for topic in line.spec.topics:
        for lang in ("en", "es"):
            text = texting.topic_text(line, topic, lang)
            assert text.endswith(texting.outgoing(line.spec.messages.sms_footer[lang]))
            assert "203-245-0412" in text
            assert segments.count(text).parts <= 2


def test_menu_text_lists_one_keyword_per_topic(line):
    assert texting.menu_text(line, "en") == (
        "Text a word to learn more: TREATMENT, DETOX, MEDS, THERAPY, LEVELS, SIGNS, "
        "OVERDOSE, RELAPSE, PRIVACY, CONTACT. Text CALL for a call back. "
        "Emergency: 911. Crisis: call or text 988."
    )
