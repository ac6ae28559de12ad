"""Evidence recall within a token budget, and MRR: our HybridRetriever against a
baseline built the way LangChain's RAG tutorial builds one.

For each in-scope question of `data/seed_questions.jsonl`:

* context = the retrieved passages joined in rank order (blank line between),
  tokenized with the embedder's own tokenizer (no special tokens) and cut after
  `budget` tokens (200);
* recall = every supporting sentence of the question lies entirely inside that
  context (whitespace-normalised substring);
* reciprocal rank = 1 / rank of the first retrieved passage that contains a
  supporting sentence entirely (0 when none of the k passages does); MRR is its mean.

Baseline: `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
add_start_index=True)` over the same cleaned document text, a LangChain `Chroma`
vector store fed explicit embeddings from the same embedder (never Chroma's
default embedding function), `similarity_search(question, k=4)`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

SEP = "\n\n"


def load_questions(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        assert {"id", "question", "in_scope", "support"} <= set(row), row
    return rows


def check_support(questions: list[dict], doc_text: str, raw_text: str) -> None:
    """Every supporting sentence must be verbatim in the article (raw file and cleaned text)."""
    for q in questions:
        for s in q["support"]:
            if s not in raw_text or _norm(s) not in _norm(doc_text):
                raise ValueError(f"{q['id']}: supporting sentence not verbatim in the article: {s!r}")


def _norm(text: str) -> str:
    return " ".join(text.split())


def budget_context(passages: list[str], tokenizer, budget: int) -> tuple[str, int]:
    """The passages joined in rank order and cut after `budget` tokens; also the full token count."""
    text = SEP.join(passages)
    if not text:
        return "", 0
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    offsets = enc["offset_mapping"]
    if len(offsets) <= budget:
        return text, len(offsets)
    return text[: offsets[budget - 1][1]], len(offsets)


def score(passages: list[str], support: list[str], tokenizer, budget: int) -> dict:
    context, tokens = budget_context(passages, tokenizer, budget)
    ctx, full = _norm(context), _norm(SEP.join(passages))
    sents = [_norm(s) for s in support]
    rank = next((i + 1 for i, p in enumerate(passages) if any(s in _norm(p) for s in sents)), None)
    return {
        "recall": all(s in ctx for s in sents),
        "recall_at_k": all(s in full for s in sents),  # anywhere in the k passages, no budget
        "rank": rank,
        "rr": 1.0 / rank if rank else 0.0,
        "tokens_at_k": tokens,
    }


class _LCEmbeddings:
    """LangChain Embeddings over our embedder (built lazily to keep imports local)."""

    def __new__(cls, embedder):
        from langchain_core.embeddings import Embeddings

        class SameEmbedder(Embeddings):
            def embed_documents(self, texts):
                return embedder.embed(list(texts)).tolist()

            def embed_query(self, text):
                return embedder.embed_one(text).tolist()

        return SameEmbedder()


def build_baseline(doc, embedder, folder: Path):
    """The LangChain RAG tutorial's indexing: split 1000/200, Chroma, same embedder."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    splits = splitter.split_documents([Document(page_content=doc.text, metadata={"source": doc.source})])
    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
    store = Chroma(collection_name="rag_tutorial", embedding_function=_LCEmbeddings(embedder), client=client)
    store.add_documents(splits)
    return store, splits


def measure(engine, questions: list[dict], doc, raw_text: str, tmp_root: Path, k: int = 4, budget: int = 200) -> dict:
    embedder = engine.index.embedder
    tokenizer = embedder._model.tokenizer
    check_support(questions, doc.text, raw_text)
    store, splits = build_baseline(doc, embedder, tmp_root / "baseline-chroma")
    snap = engine.index.snapshot()
    rows = []
    started = time.perf_counter()
    for q in questions:
        if not q["in_scope"]:
            continue
        ours = engine.retriever.search(q["question"], k=k)
        ours_passages = [h.chunk.text for h in ours.hits]
        base_passages = [d.page_content for d in store.similarity_search(q["question"], k=k)]
        row = {
            "id": q["id"],
            "question": q["question"],
            "support": q["support"],
            "ours": score(ours_passages, q["support"], tokenizer, budget)
            | {"covered": ours.covered, "best_dense": round(ours.best_dense, 3),
               "passages": [(h.chunk.start, h.chunk.end) for h in ours.hits]},
            "baseline": score(base_passages, q["support"], tokenizer, budget),
        }
        if not row["ours"]["recall"]:
            row["ours"]["miss"] = _explain_miss(row, ours, snap, tokenizer, budget)
        rows.append(row)
    seconds = time.perf_counter() - started

    def summary(key: str) -> dict:
        n = len(rows)
        return {
            "recall": sum(r[key]["recall"] for r in rows) / n,
            "mrr": sum(r[key]["rr"] for r in rows) / n,
            "recall_at_k": sum(r[key]["recall_at_k"] for r in rows) / n,
            "mean_tokens_at_k": sum(r[key]["tokens_at_k"] for r in rows) / n,
        }

    ours_s, base_s = summary("ours"), summary("baseline")
    ours_chunk_tokens = [len(tokenizer(c.text, add_special_tokens=False)["input_ids"]) for c in snap.chunks]
    base_chunk_tokens = [len(tokenizer(d.page_content, add_special_tokens=False)["input_ids"]) for d in splits]
    return {
        "k": k,
        "budget_tokens": budget,
        "questions": len(rows),
        "ours": ours_s | {"chunks": len(snap.chunks), "mean_chunk_tokens": sum(ours_chunk_tokens) / len(ours_chunk_tokens),
                          "declined_in_scope": sum(not r["ours"]["covered"] for r in rows)},
        "baseline": base_s | {"chunks": len(splits), "mean_chunk_tokens": sum(base_chunk_tokens) / len(base_chunk_tokens)},
        "recall_gap": ours_s["recall"] - base_s["recall"],
        "seconds": seconds,
        "misses": [
            {"id": r["id"], "question": r["question"], "support": r["support"], **r["ours"]["miss"]}
            for r in rows if not r["ours"]["recall"]
        ],
        "baseline_misses": [r["id"] for r in rows if not r["baseline"]["recall"]],
        "rows": rows,
    }


def _explain_miss(row: dict, retrieval, snap, tokenizer, budget: int) -> dict:
    """Why our retriever missed: where the sentence sits, and what came first instead."""
    sents = [_norm(s) for s in row["support"]]
    holders = [
        i for i, c in enumerate(snap.chunks) if any(s in _norm(c.text) for s in sents)
    ]
    got = row["ours"]
    if got["rank"] is None:
        reason = "supporting passage not in top-k"
    elif not got["recall_at_k"]:
        reason = "support split over passages; not all sentences retrieved"
    else:
        reason = f"in top-k at rank {got['rank']} but past the {budget}-token budget"
    if not got["covered"]:
        reason += "; also below the relevance floor (would be declined)"
    return {
        "reason": reason,
        "rank": got["rank"],
        "covered": got["covered"],
        "retrieved": [_head(h.chunk.text) for h in retrieval.hits],
        "retrieved_tokens": [
            len(tokenizer(h.chunk.text, add_special_tokens=False)["input_ids"]) for h in retrieval.hits
        ],
        "holding_chunks": [
            {"start": snap.chunks[i].start, "end": snap.chunks[i].end, "head": _head(snap.chunks[i].text)}
            for i in holders
        ],
    }


def _head(text: str, n: int = 70) -> str:
    text = _norm(text)
    return text if len(text) <= n else text[: n - 1] + "…"
