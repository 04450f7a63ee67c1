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

# not "end": "end it all" is a wish to die, not an opt-out
_STOP_EN = "stop|stopall|unsubscribe|cancel|quit|optout|opt out"
_PLEASE = "please|pls|plz"
_COURTESY_EN = "now|it|already|all|thanks|thank you|thx|ok|okay"
_STOP_ES = "parar|alto|basta|cancelar"
_PLEASE_ES = "por favor|porfa|porfavor"

# Opt-out "in any reasonable manner" (FCC 24-24), in plain words, matched on
# lower-case text without accents or punctuation.
PLAIN_OPT_OUT = [
    (r"\b(stop|quit|cease) (texting|messaging|sending|contacting)\b", "en"),
    (r"\b(do not|dont|don t) (text|message|contact) me\b", "en"),
    (r"\bno more (texts|messages|msgs)\b", "en"),
    (r"\b(unsubscribe|opt out|remove) me\b", "en"),
    (r"\btake me off\b", "en"),
    # A whole message of an opt-out word and a courtesy ("stop please", "STOP STOP", "stop
    # it"); never a sentence about stopping ("I want to stop using").
    (rf"^((?:{_PLEASE}) )?(?:{_STOP_EN})( (?:{_STOP_EN}|{_PLEASE}|{_COURTESY_EN}))*$", "en"),
    (r"\bi (want|would like|wanna|need) to (unsubscribe|opt out)\b", "en"),
    (r"\bopt me out\b", "en"),
    (r"\bno mas (mensajes|textos)\b", "es"),
    (r"\bno me (envies|envie|envien|mandes|mande|manden|escribas|escriba|escriban) mas\b", "es"),
    (r"\bno me (envies|envie|envien|mandes|mande|manden) (mas )?(mensajes|textos)\b", "es"),
    (r"\b(deja|deje|dejen) de (escribirme|enviarme|mandarme|textearme)\b", "es"),
    (rf"^((?:{_PLEASE_ES}) )?(?:{_STOP_ES})( (?:{_STOP_ES}|{_PLEASE_ES}|ya|gracias))*$", "es"),
    (r"^no mas$", "es"),
]
