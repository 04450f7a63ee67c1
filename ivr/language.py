"""Which language to answer in: the message's own, then what the number used last, then English.

A message is scored by the words it shares with each language: everyday words
below, plus the line's own Spanish-only and English-only keywords and crisis
phrases (built once per menu). Accents and inverted marks count for Spanish.
Brand names and loanwords ("DETOX", "Suboxone", "ok") count for neither, so a
number that wrote in Spanish before is answered in Spanish again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .wording import tokens

ENGLISH = frozenset(
    """a about after again all am an and any are as at be because been before being
    both but by can could did do does doing down during each few for from further get
    got had has have having he her here hers him his how i if in into is it its just
    know like me more most my need no nor not now of off on once only or other our out
    over own please same she should so some such than thank thanks that the their them
    then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours hi hello
    hey yes yeah help want wanna son daughter mom mother dad father brother sister wife
    husband friend boyfriend girlfriend think feel take took going tell where open
    much many cost pay insurance long work works does anyone someone somebody
    any call number hours get give find talk people person kid kids
    grandson granddaughter cousin uncle aunt still again right just really my myself
    im dont cant wont isnt doesnt didnt wasnt whats thats thank god bless
    morning afternoon night today tomorrow yesterday week day days month year years
    good bad sick scared afraid worried tired please anybody everyone nobody never
    always back home house car job work school money since last first next time
    times old new little big lot lots stuff thing things way going gonna wanna got
    say said says told ask asked tried try trying use used using stop stopped quit
    start started keep keeps kept made make makes come came coming go went gone
    see saw look looks looking find found let lets put put still yet ever every
    should would could might must shall has been being able about around through""".split()
)
SPANISH = frozenset(
    """a al algo alguien ante antes aqui asi ayuda ayudar bien buenas buenos como con
    cual cuando cuanto cuesta de del desde donde dos el ella ellas ellos en entre era
    es esa ese eso esta estan estas este esto estoy favor fue gracias hace hacer hay
    hermano hermana hija hijo hola la las le les lo los mama mas me mi mis mucho muy
    nada necesito ni no nos nosotros o otra otro papa para pero poco por porque puede
    puedo que quien quiero se sea ser si sii sin sobre solo su sus tambien tengo tiene
    tienen todo todos tu un una uno usted ustedes va vez y ya yo esposo esposa novio
    novia amigo amiga primo prima tio tia abuela abuelo nieto nieta ayudenme quisiera
    saber informacion cuanto horario abren cierran donde estan seguro pagar cita
    llamar hablar alguno ninguna dejar droga drogas pastillas tomar sigue todavia
    ahora hoy manana noche dia semana pasa pasado creo bendiciones bendicion dios senor
    buenas tardes noches dias gracias saludos oiga disculpe perdon mire hablo llamo
    esto eso aquel nunca siempre tambien todavia luego despues antes donde cuando
    quiero quieres quiere queremos necesita necesitamos tiene tengo tenemos hijo hija
    mujer hombre muchacho muchacha chamaco nene nena mija mijo pues bueno malo mala
    tiempo casa trabajo escuela dinero carro ayer semanas meses anos vida cosa cosas
    dijo dice digo hablar decir saber sabe se sabes mucho muchos muchas poca pocos
    estaba estoy estamos estan fue fui ido sido hecho hizo hago hace hacen ver veo
    vio mira miro creo cree crees parece pienso sigo sigue seguir dejar deje dejo
    usar uso usa usando tomar toma tomo tome llevar lleva puedo puede pueden podemos
    debo debe deberia cual cuales quien quienes cuanto cuanta cuantos aceptan acepta
    aceptar aceptamos atienden atiende ofrecen ofrece cubren cubre dan dais trabajan""".split()
)
# Endings no English word of a text has, for Spanish words in neither list ("rehabilitación",
# "consumiendo", "rápidamente"); a word needs SUFFIX_LENGTH letters or more.
GERUNDS = ("ando", "iendo")
SPANISH_ENDINGS = ("cion", "ciones", "mente", "amos", "emos", "imos", *GERUNDS) + tuple(
    g + pronoun
    for g in GERUNDS
    for pronoun in ("me", "se", "le", "lo", "la")  # "inyectandose"
)
SUFFIX_LENGTH = 6
SPANISH_MARKS = re.compile(r"[áéíóúñ¿¡ü]", re.IGNORECASE)


@dataclass(frozen=True)
class Languages:
    """Words that point to English or to Spanish, with the line's own vocabulary added."""

    english: frozenset[str]
    spanish: frozenset[str]

    @classmethod
    def with_vocabulary(cls, english: Iterable[str], spanish: Iterable[str]) -> Languages:
        """Everyday words plus the line's phrases; a word in both lists counts for neither."""
        en = ENGLISH | {t for phrase in english for t in tokens(phrase) if len(t) > 2}
        es = SPANISH | {t for phrase in spanish for t in tokens(phrase) if len(t) > 2}
        both = en & es
        return cls(frozenset(en - both), frozenset(es - both))

    def scores(self, text: str) -> tuple[int, int, int]:
        """English evidence, Spanish evidence, and the line's English-only keywords.

        Spanish keywords count as Spanish ("terapia"), but English ones only break a tie:
        Spanish speakers write "rehab", "Suboxone" and "methadone" too.
        """
        said = tokens(text)
        en = sum(word in ENGLISH and word in self.english for word in said)
        es = sum(word in self.spanish or _spanish_form(word, self.english) for word in said)
        es += 2 * len(SPANISH_MARKS.findall(text))
        en_keywords = sum(word in self.english for word in said) - en
        return en, es, en_keywords

    def of(self, text: str, last: str | None = None) -> str:
        """The language to answer `text` in: the message, then the number's last, then English."""
        en, es, en_keywords = self.scores(text)
        if es != en:
            return "es" if es > en else "en"
        if last in ("en", "es"):
            return last
        return "es" if es > en + en_keywords else "en"


def _spanish_form(word: str, english: frozenset[str]) -> bool:
    """A word of neither list with a Spanish ending ("consumiendo", "internacion")."""
    return (
        len(word) >= SUFFIX_LENGTH
        and word not in english
        and word not in ENGLISH
        and word.endswith(SPANISH_ENDINGS)
    )
