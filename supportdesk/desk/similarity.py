"""How alike two support requests are, from 0 (unrelated) to 1 (the same): what groups the
questions of one incident.

Two ways, behind one interface. `TokenOverlap`, the default, needs nothing: it compares the
requests' words, normalized, weighting words that are rare among the requests compared (an
`ios` or `okta` says more than `app` or `customer`). `Embeddings` asks an embeddings endpoint
(SUPPORTDESK_EMBEDDINGS_URL, OpenAI- and Voyage-compatible) for vectors and compares them by
cosine; it is used when one is configured. An organization's threshold decides what is similar
enough.
"""

import json
import math
import re
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RequestText:
    """What a request says: the agent's question, and the ticket it is about."""

    question: str
    title: str = ""
    body: str = ""


class Similarity(Protocol):
    def scores(self, new: RequestText, candidates: list[RequestText]) -> list[float]:
        """How alike `new` is to each candidate, in order."""


# Words that say nothing about which problem a request is about (English function words, and the
# boilerplate of agents' questions: "the customer reports …, what should we tell them?").
_STOP_WORDS_TEXT = """
    report reports reported tell told say said ask asks asked wants want need needs help
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could customer customers customer's
    did didn't do does doesn't doing don't down during each even ever every few for from
    further get gets got had has have having he her here hers him his how i i'm if in into is
    isn't it it's its just know known let's like me more most my no nor not now of off on once
    only or other our ours out over own please problem issue same says see she should since so
    some such than that that's the their them then there these they this those through to too
    under until up us very was wasn't we we're were weren't what when where which while who
    whom why will with won't would you your yours yes one two three right currently still
    anymore any again user users people someone bug currently known incident ongoing aware
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")
_SUFFIXES = ("ingly", "ings", "ing", "edly", "ed", "ies", "es", "s", "ly")
# A few spellings of the same thing support requests use interchangeably.
_SAME = {
    "iphone": "ios", "ipad": "ios", "ipados": "ios", "apple": "ios",
    "pixel": "android", "samsung": "android",
    "mail": "email", "e-mail": "email", "emails": "email", "inbox": "email",
    "signin": "login", "sign": "login", "log": "login", "logins": "login",
    "startup": "launch", "start": "launch", "open": "launch", "opened": "launch",
    "opening": "launch", "quit": "crash", "quits": "crash", "close": "crash", "closes": "crash",
    "notification": "push", "notifications": "push", "alert": "push", "alerts": "push",
    "tax": "vat", "paying": "payment", "pay": "payment", "payments": "payment",
    "timeout": "time", "timed": "time", "timing": "time",
    "redirect": "loop", "redirecting": "loop", "redirects": "loop", "looping": "loop",
    "500": "error", "errors": "error",
}


def _stem(word: str) -> str:
    if word in _SAME:
        return _SAME[word]
    if any(ch.isdigit() for ch in word):
        return word.split(".")[0]  # "17.0.3" and "17.1" are both 17
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return _SAME.get(word, word)


def words(text: str) -> set[str]:
    """The meaningful words of `text`, normalized: lower case, no stop words, plain stems."""
    return {
        _stem(token)
        for token in _TOKEN.findall(text.lower())
        if token not in STOP_WORDS and len(token) > 1
    } - STOP_WORDS


class TokenOverlap:
    """Weighted overlap of the requests' words; no dependency, works offline.

    The question counts most (it is what the developer answers); the ticket's title and body add
    what the agent left out. A word's weight is its rarity among the requests compared now
    (inverse document frequency), so shared rare words decide.
    """

    QUESTION_WEIGHT = 0.65

    def scores(self, new: RequestText, candidates: list[RequestText]) -> list[float]:
        if not candidates:
            return []
        texts = [new, *candidates]
        questions = [words(t.question) for t in texts]
        wholes = [q | words(f"{t.title} {t.body}") for q, t in zip(questions, texts, strict=True)]
        counts = Counter(word for whole in wholes for word in whole)
        n = len(texts)

        def weight(word: str) -> float:
            return math.log(1 + n / counts[word])

        def overlap(a: set[str], b: set[str]) -> float:
            shared = sum(weight(w) for w in a & b)
            total = sum(weight(w) for w in a | b)
            return shared / total if total else 0.0

        return [
            self.QUESTION_WEIGHT * overlap(questions[0], questions[i])
            + (1 - self.QUESTION_WEIGHT) * overlap(wholes[0], wholes[i])
            for i in range(1, n)
        ]


class Embeddings:
    """Cosine similarity of embeddings from an OpenAI- or Voyage-compatible endpoint:
    POST {"model": ..., "input": [texts]} → {"data": [{"embedding": [...]}, ...]}."""

    def __init__(self, url: str, model: str, api_key: str = "", timeout: float = 10) -> None:
        self.url, self.model, self.api_key, self.timeout = url, model, api_key, timeout

    def scores(self, new: RequestText, candidates: list[RequestText]) -> list[float]:
        if not candidates:
            return []
        vectors = self.embed([_as_text(t) for t in [new, *candidates]])
        return [max(0.0, _cosine(vectors[0], vector)) for vector in vectors[1:]]

    def embed(self, texts: list[str]) -> list[list[float]]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"model": self.model, "input": texts}).encode(),
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})},
            method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            data = json.load(response)["data"]
        return [item["embedding"] for item in sorted(data, key=lambda item: item.get("index", 0))]


def _as_text(request: RequestText) -> str:
    return f"{request.question}\n{request.title}\n{request.body}".strip()


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
