"""Small classifiers, trained at build time from the labelled messages in the repository.

Phrases (crisis.py) are precise but miss new wordings: measured across authors, phrases
written from one set of messages caught 67% of another's crisis texts, and this model
trained on the same set lifted that to 86% for one more false alarm in a hundred. So a
message is a crisis when a phrase says so, or when this model is sure of it and nothing
in the message says "what if" or "long ago".

A second model names the topic of a question no keyword reaches ("how long till I stop
feeling like trash"), when it is sure enough; otherwise the line says it did not
understand and lists the keywords.

Each is a multinomial logistic regression over word, word-pair and letter-group
features. `ivr train` fits them with scikit-learn (a build-time tool only) and writes
`crisis_model.json` and `topic_model.json`; at run time scoring is a sum of weights,
with no scientific stack loaded in the webhook. Pure: no Flask, no database.
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .wording import tokens

if TYPE_CHECKING:
    from .crisis import DangerKind  # crisis.py imports this module

MODEL_FILE = Path(__file__).with_name("crisis_model.json")
TOPIC_FILE = Path(__file__).with_name("topic_model.json")
CLASSES = ("none", "overdose", "suicide")
THRESHOLD = 0.7  # crisis: chosen by cross-validation on the tuning messages only (README)
# A message with no `danger_words` word: the model must be surer. Measured on 680 fresh
# messages (round 15) before they were tuned on: heard there too, it caught 11 more crisis
# texts for one more false alarm at 0.9 (two at 0.7 to 0.85).
UNGUIDED_THRESHOLD = 0.9
UNGUIDED_MIN_WORDS = 6  # shorter, with no word of danger, is a command ("no me envien mas")
TOPIC_THRESHOLD = 0.4  # a topic named by the model alone, when no keyword is in the message
C = 3.0  # inverse regularisation strength, chosen the same way
LETTERS = (3, 4, 5)


def features(text: str) -> set[str]:
    """Words, pairs of words, and groups of 3 to 5 letters of each word ("respir")."""
    said = tokens(text)
    found = set(said) | {f"{a} {b}" for a, b in zip(said, said[1:], strict=False)}
    for word in said:
        padded = f"<{word}>"
        for n in LETTERS:
            found |= {"#" + padded[i : i + n] for i in range(len(padded) - n + 1)}
    return found


@dataclass(frozen=True)
class Model:
    """Weights per feature for each class, and the bias of each class.

    Kept compact, since every gunicorn worker holds both models: each feature's row number,
    and one flat array of 4-byte weights (row after row), not a tuple of floats per feature.
    """

    intercept: tuple[float, ...]
    rows: dict[str, int]
    weights: array[float]
    threshold: float = THRESHOLD
    classes: tuple[str, ...] = CLASSES

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> Model | None:
        """The committed model, or None when there is none (phrases alone then)."""
        if not path.exists():
            return None
        data, rows, flat = _read(path)
        return cls(tuple(data["intercept"]), rows, flat, data["threshold"], tuple(data["classes"]))

    def chances(self, text: str) -> dict[str, float]:
        """The probability of each class for a message."""
        scores = list(self.intercept)
        width = len(scores)
        for name in features(text):
            row = self.rows.get(name)
            if row is not None:
                for k, w in enumerate(self.weights[row * width : (row + 1) * width]):
                    scores[k] += w
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.classes, exps, strict=True)}

    def crisis(self, text: str, threshold: float | None = None) -> DangerKind | None:
        """'overdose' or 'suicide' when the model is sure enough that a message is a crisis
        (its own threshold, or a stricter one given)."""
        chances = self.chances(text)
        if 1 - chances["none"] < max(self.threshold, threshold or 0.0):
            return None
        kinds: tuple[DangerKind, ...] = ("overdose", "suicide")
        return max(kinds, key=lambda kind: chances[kind])

    def best(self, text: str) -> str | None:
        """The likeliest class, when the model gives it at least its threshold."""
        chances = self.chances(text)
        label = max(chances, key=lambda name: chances[name])
        return label if chances[label] >= self.threshold and label != "none" else None


def _read(path: Path) -> tuple[dict[str, Any], dict[str, int], array[float]]:
    """The model file's head, each feature's row and the flat weights, read a line at a time.

    `dump` writes one feature a line; reading them so, each worker never holds the whole
    file parsed at once (tens of thousands of lists of floats: ~18 MB of a worker's memory
    that Python kept after freeing them). A file not in that layout is read whole.
    """
    head: list[str] = []
    rows: dict[str, int] = {}
    flat: array[float] = array("f")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith(WEIGHTS_LINE):
                break
            head.append(line)
        for line in lines:
            entry = line.strip().rstrip(",")
            if entry.startswith('"'):
                ((name, weights),) = json.loads("{" + entry + "}").items()
                rows[sys.intern(name)] = len(rows)
                flat.extend(weights)
    try:
        data: dict[str, Any] = json.loads("".join(head) + '"weights": {}}')
    except json.JSONDecodeError:  # not as `dump` writes it
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = {sys.intern(name): n for n, name in enumerate(data["weights"])}
        flat = array("f", (w for row in data["weights"].values() for w in row))
    return data, rows, flat


WEIGHTS_LINE = '  "weights": {'  # where `dump` starts the one-feature-a-line part


def dump(model: dict[str, Any]) -> str:
    """The model as JSON text with one feature a line, so a retrained model diffs plainly."""
    head = {k: v for k, v in model.items() if k != "weights"}
    lines = [
        f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v)}"
        for k, v in model["weights"].items()
    ]
    body = json.dumps(head, ensure_ascii=False, indent=2)[:-2]
    return body + ',\n  "weights": {\n' + ",\n".join("  " + line for line in lines) + "\n  }\n}\n"


def train(
    messages: Iterable[tuple[str, str | None]],
    classes: tuple[str, ...] = CLASSES,
    threshold: float = THRESHOLD,
) -> dict[str, Any]:
    """Fit a model on (text, class or None) pairs; return it as JSON-ready data."""
    from sklearn.feature_extraction.text import CountVectorizer  # build time only
    from sklearn.linear_model import LogisticRegression

    pairs = [(text, classes.index(kind or "none")) for text, kind in messages]
    texts, labels = [text for text, _ in pairs], [label for _, label in pairs]
    vectorizer = CountVectorizer(analyzer=lambda t: sorted(features(t)), binary=True, min_df=2)
    matrix = vectorizer.fit_transform(texts)
    fitted = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(matrix, labels)
    names = vectorizer.get_feature_names_out()
    weights = {
        str(name): [round(float(w), 4) for w in fitted.coef_[:, j]]
        for j, name in enumerate(names)
        if max(abs(fitted.coef_[:, j])) >= 0.01
    }
    return {
        "about": "A classifier for the text line; made by `ivr train`, do not edit.",
        "classes": list(classes),
        "threshold": threshold,
        "C": C,
        "messages": len(texts),
        "intercept": [round(float(b), 4) for b in fitted.intercept_],
        "weights": dict(sorted(weights.items())),
    }
