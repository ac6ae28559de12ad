"""Rule-made claim/passage pairs for fitting the support judge (FactCC style).

The labeled claims of the article packages are few (~30 an article), so the
support model is also fitted on pairs made by rules from a large neutral pool
of English sentences - the reference texts of an article-extraction benchmark
(181 real web articles of many kinds; `source_path()`), which are no article
the tutor is evaluated on. For each chosen sentence the passage is that
sentence with up to two neighbours, and the claim is a rewrite of it:

* supported: a clause of it; the sentence without a modifier (an adverb,
  adjective or prepositional phrase that is not the only object); WordNet
  synonyms for one or two words; digits as words and back; a fronted phrase
  moved to the end;
* unsupported: another number (or another unit); a name swapped for another
  name of the same article; a negation inserted or removed; a WordNet
  antonym; subject and object swapped; a comparative flipped; "only"/"all"
  inserted; a clause from another article added ("and ...", "because ...");
  a sentence from elsewhere in the same article; a content word replaced by
  another noun of the same article.

Everything is deterministic for a given seed (`RECIPE` names the version of
these rules; both go into the fitted model's data hash). Written by hand
because no library makes such pairs; it reads parses from `tutor.language`
and word relations from `tutor.lexicon`. Deliberate simplifications: words
are substituted in their base form or with a regular plural only; rewrites
that would need inflection are skipped rather than guessed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Doc, Span, Token

from tutor import language as L
from tutor import lexicon

RECIPE = "synthetic-pairs-1"
SEED = 20240601
_REPO = Path(__file__).resolve().parents[2]
_ENV = "TUTOR_SYNTHETIC_SOURCE"


def source_path() -> Path | None:
    """The benchmark's `ground-truth.json` ($TUTOR_SYNTHETIC_SOURCE, else
    `../shared/extraction-benchmark/` beside the checkout); None when absent."""
    env = os.environ.get(_ENV)
    candidates = [Path(env)] if env else []
    candidates.append(_REPO.parent / "shared" / "extraction-benchmark" / "ground-truth.json")
    for p in candidates:
        if p.is_dir():
            p = p / "ground-truth.json"
        if p.is_file():
            return p
    return None


def source_hash(path: Path | None = None) -> str | None:
    path = path or source_path()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


@dataclass(frozen=True)
class Pair:
    claim: str
    passage: str
    supported: bool
    rule: str
    source: str  # the article id in the pool


# ---- reading the pool -----------------------------------------------------------

_GOOD = re.compile(r"^[A-Z\"“(][^\n]{30,260}[.!?][\"”)]?$")


def _articles(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(k, v.get("articleBody") or "") for k, v in sorted(data.items())]


def _sentences(doc: Doc) -> list[Span]:
    """Plain English sentences of 8-45 words with a verb (no links, no open quotes)."""
    out = []
    for s in doc.sents:
        text = s.text.strip()
        if not _GOOD.match(text) or text.count('"') % 2 or "http" in text:
            continue
        if sum(1 for t in s if t.lower_ in L.STOP_WORDS) < 0.25 * len(s):
            continue  # not English
        if not (8 <= sum(1 for t in s if not t.is_punct) <= 45):
            continue
        if not any(t.pos_ in ("VERB", "AUX") for t in s):
            continue
        out.append(s)
    return out


# ---- rewriting helpers ----------------------------------------------------------


def _render(s: Span, replace: dict[int, str], drop: set[int] = frozenset()) -> str:
    """The span's text with tokens replaced (by index) or dropped."""
    out = []
    for t in s:
        if t.i in drop:
            continue
        out.append(replace.get(t.i, t.text) + t.whitespace_)
    text = "".join(out).strip()
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text)
    text = re.sub(r",\s*([.;])", r"\1", text)
    return text[:1].upper() + text[1:] if text else text


def _case(word: str, like: Token) -> str:
    if like.is_title and like.i == like.sent.start:
        return word[:1].upper() + word[1:]
    return word


def _common(word: str) -> bool:
    from wordfreq import zipf_frequency

    return "_" not in word and word.isalpha() and zipf_frequency(word, "en") >= 3.0


def _base_form(t: Token) -> bool:
    lem = L.lemma(t)
    return t.lower_ == lem and t.tag_ in ("NN", "VB", "VBP", "JJ", "RB")


def _synonym(t: Token, rng: random.Random, close=None) -> str | None:
    """A WordNet synonym of the word in the same form; with `close(a, bs)` (word
    similarities), only one close to the word itself (a sense-blind synonym
    such as "humanity" for "man" would make a false positive)."""
    lem = L.lemma(t)
    if t.pos_ not in ("NOUN", "VERB", "ADJ", "ADV") or t.ent_type_ or len(lem) < 3:
        return None
    choices = sorted(w for w in lexicon.synonym_set(lem) if w != lem and _common(w) and L.stem(w) != L.stem(lem))
    if close is not None and choices:
        sims = close(lem, choices)
        choices = [w for w, x in zip(choices, sims, strict=True) if x >= 0.6]
    if not choices:
        return None
    w = rng.choice(choices)
    if _base_form(t):
        return _case(w, t)
    if t.tag_ == "NNS" and t.lower_ == lem + "s":
        return _case(w + "s", t)
    return None


def _antonym(t: Token, rng: random.Random) -> str | None:
    if t.pos_ not in ("ADJ", "VERB", "ADV", "NOUN") or t.ent_type_:
        return None
    lem = L.lemma(t)
    choices = sorted(w for w in lexicon.antonyms_of(lem) if _common(w))
    if not choices or not _base_form(t):
        return None
    return _case(rng.choice(choices), t)


_DIGITS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
           "8": "eight", "9": "nine", "10": "ten", "12": "twelve", "20": "twenty"}
_WORDS = {v: k for k, v in _DIGITS.items()}


def _other_number(t: Token, rng: random.Random) -> str | None:
    raw = t.text.replace(",", "")
    if re.fullmatch(r"\d+", raw):
        v = int(raw)
        if 1800 <= v <= 2100:  # a year
            return str(v + rng.choice([-10, -3, -1, 1, 2, 5, 20]))
        if v == 0:
            return "1"
        new = rng.choice([v * 2, v + 1, max(1, v - 1), v * 10, max(1, v // 2), v + 3])
        if new == v:
            new = v + 1
        return f"{new:,}" if "," in t.text else str(new)
    if re.fullmatch(r"\d+\.\d+", raw):
        v = float(raw)
        return f"{v * rng.choice([0.5, 2.0, 1.5]):.{len(raw.split('.')[1])}f}"
    low = t.lower_
    if low in _WORDS:
        n = int(_WORDS[low])
        new = rng.choice([n + 1, n * 2, max(1, n - 1)])
        if new == n:
            new += 1
        return _case(_DIGITS.get(str(new), str(new)), t)
    return None


_UNIT_SWAPS = (("second", "minute"), ("minute", "hour"), ("hour", "day"), ("day", "week"), ("week", "month"),
               ("month", "year"), ("percent", "times"), ("meter", "kilometer"), ("gram", "kilogram"),
               ("inch", "foot"), ("mile", "kilometer"))


def _other_unit(t: Token) -> str | None:
    lem = L.lemma(t)
    for a, b in _UNIT_SWAPS:
        for x, y in ((a, b), (b, a)):
            if lem == x:
                return y + ("s" if t.lower_.endswith("s") and not y.endswith("s") and y != "times" else "")
    return None


def _subtree(t: Token) -> tuple[int, int]:
    return t.left_edge.i, t.right_edge.i + 1


def _swap_spans(s: Span, a: tuple[int, int], b: tuple[int, int]) -> str | None:
    if a[1] > b[0] and b[1] > a[0]:
        return None
    if a[0] > b[0]:
        a, b = b, a
    doc = s.doc

    def text(x, y):
        return doc[x:y].text

    first, second = text(*a), text(*b)
    if first.lower() == second.lower():
        return None
    if doc[a[0]].i == s.start:
        second = second[:1].upper() + second[1:]
        first = first[:1].lower() + first[1:] if doc[a[0]].pos_ != "PROPN" else first
    parts = [doc[s.start : a[0]].text_with_ws, second + doc[a[1] - 1].whitespace_,
             doc[a[1] : b[0]].text_with_ws, first + doc[b[1] - 1].whitespace_, doc[b[1] : s.end].text]
    return _render_text("".join(parts))


def _render_text(text: str) -> str:
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text[:1].upper() + text[1:]


def _finish(text: str) -> str:
    text = text.strip().rstrip(",;:")
    if text and text[-1] not in ".!?\"”":
        text += "."
    return _render_text(text)


# ---- the rules ----------------------------------------------------------------------


def positives(s: Span, rng: random.Random, close=None) -> Iterator[tuple[str, str]]:
    toks = list(s)
    # a clause of it: the root's conjoined clause split off, or the main clause without a trailing clause
    for t in toks:
        if t.dep_ == "conj" and t.pos_ in ("VERB", "AUX") and t.head.i == s.root.i and any(
                c.dep_ in ("nsubj", "nsubjpass") for c in t.children):
            x, y = _subtree(t)
            first = s.doc[s.start : x].text.rstrip(" ,;").removesuffix(" and").removesuffix(" but").rstrip(" ,")
            if len(first.split()) >= 5:
                yield "clause", _finish(first)
            if y - x >= 5:
                yield "clause", _finish(s.doc[x:y].text)
            break
    for t in toks:
        if t.dep_ in ("advcl", "relcl") and t.head.i == s.root.i and t.i > s.root.i:
            x, _ = _subtree(t)
            head = s.doc[s.start : x].text.rstrip(" ,;")
            if x > s.root.i + 2 and len(head.split()) >= 5 and not head.lower().endswith((" because", " which", " that")):
                yield "clause", _finish(head)
            break
    # a modifier dropped
    mods = [t for t in toks if (t.dep_ == "advmod" and t.pos_ == "ADV" and not L.is_negator(t)
                                and t.lower_ not in L.QUANTIFIERS and t.head.pos_ in ("VERB", "ADJ"))
            or (t.dep_ == "amod" and t.pos_ == "ADJ" and t.tag_ == "JJ" and t.lower_ not in L.QUANTIFIERS
                and not any(c.dep_ != "punct" for c in t.children))]
    if mods:
        m = rng.choice(mods)
        yield "drop-modifier", _render(s, {}, {m.i})
    preps = [t for t in toks if t.dep_ == "prep" and t.head.pos_ == "VERB" and t.i > t.head.i
             and any(c.dep_ == "pobj" for c in t.children)
             and any(c.dep_ in ("dobj", "attr", "acomp") for c in t.head.children)]
    if preps:
        p = rng.choice(preps)
        x, y = _subtree(p)
        yield "drop-phrase", _render(s, {}, set(range(x, y)))
    # WordNet synonyms for one or two words
    cands = [t for t in toks if L.is_content(t)]
    rng.shuffle(cands)
    repl = {}
    for t in cands:
        w = _synonym(t, rng, close)
        if w:
            repl[t.i] = w
        if len(repl) >= 2:
            break
    if repl:
        yield "synonym", _render(s, repl)
    # digits as words and back
    nums = {t.i: (_DIGITS.get(t.text) or _WORDS.get(t.lower_)) for t in toks}
    nums = {i: _case(w, s.doc[i]) for i, w in nums.items() if w and s.doc[i].ent_type_ != "DATE"}
    if nums:
        yield "number-words", _render(s, nums)
    # a fronted phrase moved to the end: "In 1990, X did Y." -> "X did Y in 1990."
    first = toks[0]
    if first.dep_ == "prep" and first.head.i == s.root.i:
        x, y = _subtree(first)
        if y < len(s.doc) and s.doc[y].text == "," and y + 1 < s.end:
            rest = s.doc[y + 1 : s.end].text.rstrip(".!? ")
            moved = s.doc[x:y].text
            moved = moved[:1].lower() + moved[1:] if s.doc[x].pos_ != "PROPN" else moved
            yield "move-phrase", _finish(f"{rest} {moved}")


def negatives(s: Span, doc_names: dict[str, list[str]], doc_nouns: list[str], elsewhere: list[Span],
              foreign: list[Span], rng: random.Random) -> Iterator[tuple[str, str]]:
    toks = list(s)
    # another number, another unit
    nums = [t for t in toks if t.like_num or t.pos_ == "NUM"]
    if nums:
        t = rng.choice(nums)
        w = _other_number(t, rng)
        if w:
            yield "number", _render(s, {t.i: w})
        unit = next((u for u in toks if u.i in (t.i + 1, t.i + 2) and _other_unit(u)), None)
        if unit is not None:
            yield "unit", _render(s, {unit.i: _other_unit(unit)})
    # a name swapped for another name of the same article
    ents = [e for e in s.ents if e.label_ in ("PERSON", "ORG", "GPE", "NORP", "LOC", "PRODUCT", "EVENT")]
    if ents:
        e = rng.choice(ents)
        others = [n for n in doc_names.get(e.label_, []) if n.lower() not in s.text.lower()]
        if others:
            yield "name", _render(s, {e.start: rng.choice(others)}, set(range(e.start + 1, e.end)))
    # a negation inserted or removed
    negs = [t for t in toks if L.is_negator(t) and t.dep_ == "neg"]
    if negs:
        t = negs[0]
        if t.lower_ == "n't" and t.i > 0:
            yield "negation", _render(s, {t.i - 1: _unneg(s.doc[t.i - 1])}, {t.i})
        else:
            yield "negation", _render(s, {}, {t.i})
    else:
        aux = [t for t in toks if t.pos_ == "AUX" and t.dep_ in ("aux", "ROOT", "auxpass")
               and t.lower_ in ("is", "are", "was", "were", "can", "will", "could", "would", "should", "has",
                                "have", "had", "may", "might", "must")]
        if aux:
            a = aux[0]
            yield "negation", _render(s, {a.i: a.text + (" not" if a.lower_ != "can" else "not")})
        elif s.root.pos_ == "VERB" and s.root.tag_ in ("VBD", "VBZ", "VBP"):
            do = {"VBD": "did", "VBZ": "does", "VBP": "do"}[s.root.tag_]
            yield "negation", _render(s, {s.root.i: f"{do} not {L.lemma(s.root)}"})
    # a WordNet antonym
    cands = [t for t in toks if L.is_content(t)]
    rng.shuffle(cands)
    for t in cands:
        w = _antonym(t, rng)
        if w:
            yield "antonym", _render(s, {t.i: w})
            break
    # subject and object swapped
    root = s.root
    subj = next((c for c in root.children if c.dep_ == "nsubj" and c.pos_ in ("NOUN", "PROPN")), None)
    obj = next((c for c in root.children if c.dep_ in ("dobj", "attr") and c.pos_ in ("NOUN", "PROPN")), None)
    if obj is None:
        for c in root.children:
            if c.dep_ == "prep":
                obj = next((g for g in c.children if g.dep_ == "pobj" and g.pos_ in ("NOUN", "PROPN")), None)
                if obj is not None:
                    break
    if subj is not None and obj is not None:
        a, b = _subtree(subj), _subtree(obj)
        if a[1] - a[0] <= 6 and b[1] - b[0] <= 6:
            w = _swap_spans(s, a, b)
            if w:
                yield "roles", w
    # a comparative flipped
    for t in toks:
        if t.tag_ in ("JJR", "RBR") or t.lower_ in ("more", "less", "fewer", "before", "after"):
            flip = {"more": "less", "less": "more", "fewer": "more", "before": "after", "after": "before"}
            w = flip.get(t.lower_)
            if w is None:
                ants = sorted(a for a in lexicon.antonyms_of(L.lemma(t)) if _common(a))
                if ants:
                    w = f"more {ants[0]}" if not ants[0].endswith("er") else ants[0]
            if w:
                yield "comparison", _render(s, {t.i: _case(w, t)})
                break
    # "only" / "all" inserted
    if subj is not None and not any(t.lower_ in L.QUANTIFIERS for t in toks):
        x, _ = _subtree(subj)
        first = s.doc[x]
        keep = first.text if first.pos_ == "PROPN" or x != s.start else first.lower_
        word = "all" if subj.tag_ in ("NNS", "NNPS") and first.pos_ != "DET" else "only"
        yield "quantifier", _render(s, {x: f"{word} {keep}"})
    # a clause from another article added
    if foreign:
        other = rng.choice(foreign).text.strip().rstrip(".!?")
        other = other[:1].lower() + other[1:] if not other.split()[0].isupper() else other
        base = s.text.strip().rstrip(".!?")
        yield "added", _finish(f"{base}, and {other}" if rng.random() < 0.5 else f"{base} because {other}")
    # a sentence from elsewhere in the same article
    if elsewhere:
        yield "elsewhere", rng.choice(elsewhere).text.strip()
    # a content noun replaced by another noun of the article
    nouns = [t for t in toks if t.pos_ == "NOUN" and t.tag_ == "NN" and not t.ent_type_]
    if nouns and doc_nouns:
        t = rng.choice(nouns)
        others = [n for n in doc_nouns if n not in s.text.lower() and not lexicon.synonyms(n, L.lemma(t))]
        if others:
            yield "noun", _render(s, {t.i: rng.choice(others)})


def _unneg(aux: Token) -> str:
    low = aux.lower_
    fixes = {"ca": "can", "wo": "will", "sha": "shall"}
    return _case(fixes.get(low, aux.text), aux)


# ---- the set ------------------------------------------------------------------------


def make_pairs(path: Path | None = None, per_article: int = 6, seed: int = SEED, close=None) -> list[Pair]:
    """Pairs from every article of the pool: `per_article` sentences each and
    every rule that applies to a sentence (`close`: see `_synonym`)."""
    path = path or source_path()
    if path is None:
        return []
    rng = random.Random(seed)
    arts = _articles(path)
    texts = [body for _, body in arts]
    docs = L.parse_many([t[:20000] for t in texts])
    sents = [_sentences(d) for d in docs]
    pos, neg = [], []
    for ai, ((aid, _), doc, ss) in enumerate(zip(arts, docs, sents, strict=True)):
        if len(ss) < 4:
            continue
        names: dict[str, list[str]] = {}
        for e in doc.ents:
            if e.label_ in ("PERSON", "ORG", "GPE", "NORP", "LOC", "PRODUCT", "EVENT") and 1 <= len(e) <= 3:
                lst = names.setdefault(e.label_, [])
                if e.text not in lst:
                    lst.append(e.text)
        nouns = sorted({L.lemma(t) for t in doc if t.pos_ == "NOUN" and t.is_alpha and len(t) > 3 and not t.ent_type_})
        all_sents = list(doc.sents)
        chosen = rng.sample(range(len(ss)), min(per_article, len(ss)))
        for k in chosen:
            s = ss[k]
            # the passage: the sentence with up to two neighbours
            idx = next(i for i, x in enumerate(all_sents) if x.start == s.start)
            lo = max(0, idx - rng.randint(0, 1))
            hi = min(len(all_sents), idx + 1 + rng.randint(0, 1))
            passage = " ".join(x.text.strip() for x in all_sents[lo:hi])
            far = [x for j, x in enumerate(ss) if abs(all_sents.index(x) - idx) > 2] if len(ss) > 6 else []
            other_art = sents[(ai + 1 + rng.randrange(len(sents) - 1)) % len(sents)]
            foreign = [x for x in other_art if len(x) <= 20]
            for rule, claim in positives(s, rng, close):
                if claim and claim != s.text.strip() and len(claim.split()) >= 4:
                    pos.append(Pair(claim, passage, True, rule, aid))
            for rule, claim in negatives(s, names, nouns, far, foreign, rng):
                if claim and claim.lower() != s.text.strip().lower():
                    neg.append(Pair(claim, passage, False, rule, aid))
    rng.shuffle(pos)
    rng.shuffle(neg)
    return pos + neg
