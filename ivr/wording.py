"""How the line reads what people write or say: one normaliser into plain tokens.

Lower-case, accents gone, punctuation dropped, and the shorthand people really type
spelled out ("isnt" -> "is not", "u" -> "you", "q" -> "que"), so that a phrase
written once in menus.yaml matches the many ways it arrives. Sentences are kept
apart, because "what to do if" in one sentence says nothing about the next.
"""

from __future__ import annotations

import re
import unicodedata

# Shorthand and contractions, after accents and apostrophes are gone.
SPELLED_OUT = {
    # English
    "im": "i am",
    "ive": "i have",
    "hes": "he is",
    "shes": "she is",
    "theyre": "they are",
    "youre": "you are",
    "whats": "what is",
    "thats": "that is",
    "theres": "there is",
    "cant": "can not",
    "cannot": "can not",
    "wont": "will not",
    "aint": "is not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "hasnt": "has not",
    "havent": "have not",
    "hadnt": "had not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "gonna": "going to",
    "wanna": "want to",
    "tryna": "trying to",
    "gotta": "got to",
    "u": "you",
    "ur": "your",
    "r": "are",
    "ppl": "people",
    "pls": "please",
    "plz": "please",
    "rn": "right now",
    "bc": "because",
    "cuz": "because",
    "idk": "i do not know",
    "idc": "i do not care",
    "abt": "about",
    "w": "with",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "breathin": "breathing",
    "wakin": "waking",
    "movin": "moving",
    "respondin": "responding",
    "nothin": "nothing",
    "dyin": "dying",
    "tryin": "trying",
    "usin": "using",
    "goin": "going",
    "slowin": "slowing",
    "killin": "killing",
    "tok": "took",
    "tonights": "tonight is",
    # letters dropped on a cracked phone or in a hurry ("hes nt brthng", "cnt wake hr")
    "nt": "not",
    "cnt": "can not",
    "dnt": "do not",
    "hlp": "help",
    "hre": "here",
    "b": "be",
    "nw": "now",
    "wz": "was",
    "hr": "her",
    "any1": "anyone",
    "some1": "someone",
    "sum1": "someone",
    "no1": "no one",
    "anymr": "anymore",
    "anymre": "anymore",
    "tnite": "tonight",
    "2nite": "tonight",
    "brthng": "breathing",
    "breathng": "breathing",
    "wkng": "waking",
    "blu": "blue",
    # Spanish
    "q": "que",
    "k": "que",
    "ke": "que",
    "kiero": "quiero",
    "kieres": "quieres",
    "aki": "aqui",
    "toas": "todas",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "d": "de",
    "toy": "estoy",
    "ta": "esta",
    "tmb": "tambien",
    "tb": "tambien",
    "pa": "para",
    "pal": "para el",
    "ud": "usted",
    "uds": "ustedes",
    "nd": "nada",
    "xfa": "por favor",
    "porfa": "por favor",
    "porfavor": "por favor",
}
SENTENCE_END = re.compile(r"[.!?;,\n]+|\s[-:]\s|:\s")  # a comma ends a clause: "if X, he is Y"
NOT_A_LETTER = re.compile(r"[^a-z0-9]+")
# "od'd", "oded", "ODing", "od's": all "od" (but "odd" stays odd)
OD = re.compile(r"\bod(?:['’`´](?:d|ed|s|ing|in)|ed|eed|s|ing|in|eing)\b")


DOUBLE_PERIOD = re.compile(r"(?<!\.)\.\.(?!\.)")  # "at 9 a.m.." (an ellipsis stays)


def fill(template: str, **fields: str) -> str:
    """A message with its placeholders filled in, spoken or texted.

    A filled-in value may end a sentence with its own period ("9 a.m."): one period stays.
    """
    return DOUBLE_PERIOD.sub(".", template.format(**fields))


def fold(text: str) -> str:
    """Lower-case without accents (ñ becomes n), apostrophes removed inside words."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    bare = OD.sub("od", bare)
    return re.sub(r"(?<=[a-z])['’`´](?=[a-z])", "", bare)


REPEATED = re.compile(r"([a-z])\1{2,}")  # "ayudaaa", "heeelp", "pleeease": one letter


# Spanish "sí" (yes) is not "si" (if): where the writer kept its accent, it stays apart, so
# "hola sí, mi esposo no respira" holds no what-if. (Keywords fold it to SI, as typed.)
YES = re.compile(r"\b[sS][íÍ]\b")


def tokens(text: str) -> tuple[str, ...]:
    """The words of a text, folded and spelled out."""
    out: list[str] = []
    for word in NOT_A_LETTER.split(REPEATED.sub(r"\1", fold(YES.sub("sii", text)))):
        if word:
            out.extend(SPELLED_OUT.get(word, word).split())
    return tuple(out)


def sentences(text: str) -> tuple[tuple[str, ...], ...]:
    """The tokens of each sentence, split where the writer ended one."""
    found = (tokens(part) for part in SENTENCE_END.split(fold(YES.sub("sii", text))))
    return tuple(part for part in found if part)
