"""Word relations from WordNet 3.0: synonyms, near relations and antonyms.

The language layer aligns a claim's words with a passage's by lemma, by these
relations and by embedding similarity. Embeddings alone cannot tell a synonym
from an antonym ("sturdy" and "delicate" sit close together), so antonymy and
synonymy come from a lexical database instead of a hand-made list.

`tutor/data/wordnet.json.gz` is derived from Princeton's WordNet 3.0 (licence
in `tutor/data/WORDNET-LICENSE`) by `scripts/build_lexicon.py`: each lemma's
synsets, each synset's near relations (similar-to, also-see, verb group,
hypernym, derivation, pertainym) and each lemma's antonyms (for adjective
satellites, the antonyms of their head). It is read on first use (~0.35 s);
a word's senses become a set when first asked for.

>>> synonyms("liberal", "free"), antonyms("sturdy", "delicate")
(True, True)
>>> related("call", "label"), related("sturdy", "delicate")
(True, False)
"""

from __future__ import annotations

import gzip
import json
import threading
from functools import lru_cache
from pathlib import Path

_PATH = Path(__file__).with_name("data") / "wordnet.json.gz"
_LOCK = threading.Lock()
_DATA: dict | None = None


def _data() -> dict:
    global _DATA
    if _DATA is None:
        with _LOCK:
            if _DATA is None:
                with gzip.open(_PATH, "rt", encoding="utf-8") as f:
                    _DATA = json.load(f)  # lists; made sets word by word, when asked (`_senses`, `_near`)
    return _DATA


_NONE: frozenset = frozenset()


@lru_cache(maxsize=200_000)
def _senses(key: str) -> frozenset[int]:
    return frozenset(_data()["lemmas"].get(key, _NONE))


@lru_cache(maxsize=200_000)
def _near(synset: int) -> frozenset[int]:
    return frozenset(_data()["near"].get(str(synset), _NONE))


@lru_cache(maxsize=200_000)
def _opposites(key: str) -> frozenset[str]:
    return frozenset(_data()["antonyms"].get(key, _NONE))


def _key(word: str) -> str:
    return word.lower().replace(" ", "_")


def known(word: str) -> bool:
    return _key(word) in _data()["lemmas"]


@lru_cache(maxsize=200_000)
def synonyms(a: str, b: str) -> bool:
    """The two words share a sense."""
    return bool(_senses(_key(a)) & _senses(_key(b)))


@lru_cache(maxsize=200_000)
def related(a: str, b: str) -> bool:
    """Synonyms, or one word's sense is next to the other's (similar to, a
    derivation, a direct hypernym): a paraphrase may use one for the other.
    Antonyms are never related."""
    if antonyms(a, b):
        return False
    if synonyms(a, b):
        return True
    sa, sb = _senses(_key(a)), _senses(_key(b))
    if not sa or not sb:
        return False
    return any(_near(s) & sb for s in sa) or any(_near(s) & sa for s in sb)


@lru_cache(maxsize=200_000)
def antonyms(a: str, b: str) -> bool:
    """WordNet lists the words as opposites ("large"/"small", "sturdy"/"delicate")."""
    return _key(b) in _opposites(_key(a)) or _key(a) in _opposites(_key(b))


def load() -> None:
    """Read the word lists and build their index now (a server's warm-up), not
    on the first question that needs them."""
    _members()


def _members() -> dict[int, frozenset[str]]:
    data = _data()
    if "members" not in data:
        with _LOCK:
            if "members" in data:
                return data["members"]
            inv: dict[int, set[str]] = {}
            for word, synsets in data["lemmas"].items():
                for s in synsets:
                    inv.setdefault(s, set()).add(word)
            data["members"] = {s: frozenset(w) for s, w in inv.items()}
    return data["members"]


@lru_cache(maxsize=65536)
def synonym_set(word: str) -> frozenset[str]:
    """Every word that shares a sense with `word` (itself included)."""
    members = _members()
    out = {_key(word)}
    for s in _senses(_key(word)):
        out |= members.get(s, frozenset())
    return frozenset(out)


@lru_cache(maxsize=200_000)
def opposed(a: str, b: str) -> bool:
    """Antonyms, or an antonym of a synonym ("sturdy"/"delicate",
    "easy"/"hard"): one word says the opposite of the other. Words that
    share a sense are never opposed."""
    if antonyms(a, b):
        return True
    if synonyms(a, b):
        return False
    if any(_key(b) in _opposites(x) for x in synonym_set(a)):
        return True
    return any(_key(a) in _opposites(x) for x in synonym_set(b))


def antonyms_of(word: str) -> frozenset[str]:
    """The words WordNet lists as opposites of `word` (either direction)."""
    return frozenset(w.replace("_", " ") for w in _opposites(_key(word)))
