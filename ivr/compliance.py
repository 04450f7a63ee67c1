"""The words the text line keeps for itself: opt-out, opt-in, help, menu and call-back."""

from __future__ import annotations

# Twilio's and CTIA's opt-out words, and Spanish ones people use.
SPANISH_STOP = {"PARAR", "ALTO", "BASTA", "CANCELAR"}
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
STOP_WORDS |= SPANISH_STOP
START_WORDS = {"START", "YES", "UNSTOP", "SI"}
HELP_WORDS = {"HELP": "en", "INFO": "en", "AYUDA": "es"}
MENU_WORDS = {"MENU": "en", "TOPICS": "en", "TEMAS": "es"}
CALL_WORDS = {"CALL": "en", "CALLBACK": "en", "LLAMAR": "es", "LLAMENME": "es"}

# A topic keyword may not take any of these.
RESERVED_WORDS = STOP_WORDS | START_WORDS | set(HELP_WORDS) | set(MENU_WORDS) | set(CALL_WORDS)

# Opt-out "in any reasonable manner" (FCC 24-24), in plain words, matched on
# lower-case text without accents or punctuation.
PLAIN_OPT_OUT = [
    (r"\b(stop|quit|cease) (texting|messaging|sending|contacting)\b", "en"),
    (r"\b(do not|dont|don t) (text|message|contact) me\b", "en"),
    (r"\bno more (texts|messages|msgs)\b", "en"),
    (r"\b(unsubscribe|opt out|remove) me\b", "en"),
    (r"\btake me off\b", "en"),
    (r"\bno mas (mensajes|textos)\b", "es"),
    (r"\bno me (envien|manden|escriban) mas\b", "es"),
    (r"\bdejen de (escribirme|enviarme|mandarme)\b", "es"),
    (r"^no mas$", "es"),
]
