"""Score the question banks ingest drafts for every dev article and the seed
(issue 10, point 7): `python scripts/score_drafts.py [--json] [--failures]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from tutor.embedder import get_embedder
    from tutor.evals.drafts import article_paths, score_article, table

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true", help="one JSON line per article")
    ap.add_argument("--failures", action="store_true", help="list the questions that failed")
    ap.add_argument("--only", help="articles whose path contains this")
    args = ap.parse_args()
    embedder = get_embedder()
    scores = []
    for path in article_paths(ROOT):
        if args.only and args.only not in str(path):
            continue
        s = score_article(path, embedder=embedder)
        scores.append(s)
        if args.json:
            print(json.dumps(s.to_json()))
        if args.failures:
            for f in s.failures:
                print(f"  [{s.doc_id}] {f}", file=sys.stderr)
    if not args.json:
        print(table(scores))


if __name__ == "__main__":
    main()
