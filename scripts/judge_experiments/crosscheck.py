"""A small cross-encoder on the tutor's own sentence embedder: does this
sentence back up this claim?

The sentence embedder (all-MiniLM-L6-v2) reads one text at a time. Here the
same transformer reads "claim [SEP] evidence" together, with low-rank
adapters (LoRA, rank `RANK`) on the linear maps of its top `TOP` layers and
a linear head on the joint encoding, fitted on rule-made pairs
(`tutor.synthetic`: number, name, negation, antonym, role and quantifier
changes as unsupported; clauses, dropped modifiers and synonyms as
supported). Only the adapters and the head are saved
(`tutor/models/crosscheck.npz`, well under a megabyte); at load they are
merged into a private copy of the embedder's weights, so a check is one
plain forward pass and the embedder itself is untouched.

Its probability is one feature of the support judge (`tutor.alignment`
names it `crosscheck`), weighed by the fitted logistic regression with the
alignment features.

Written by hand (a dozen lines of LoRA) because the PEFT library is not a
dependency; training uses PyTorch directly. Deliberate simplifications: the
bottom layers are frozen, so their outputs are computed once per training
pair; one fixed number of epochs; no early stopping.
"""

from __future__ import annotations

import copy
import io
import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[2] / "tutor" / "models" / "crosscheck.npz"  # where it would go if adopted
RANK = 8
TOP = 3  # adapted layers, counted from the top
MAX_TOKENS = 160
_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
            "intermediate.dense", "output.dense")


def _module(layer, name: str):
    m = layer
    for part in name.split("."):
        m = getattr(m, part)
    return m


def _mask(attn):
    import torch

    return (1.0 - attn[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min


def _pool(h, attn):
    m = attn[:, :, None].to(h.dtype)
    mean = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
    import torch

    return torch.cat([h[:, 0], mean], dim=1)


class CrossCheck:
    """The fitted cross-encoder (see the module docstring). `embedder` is the
    tutor's `Embedder`; its transformer is copied, never modified."""

    def __init__(self, embedder, path: Path = PATH):
        import torch

        data = np.load(path, allow_pickle=False)
        self.meta = json.loads(bytes(data["meta"]).decode())
        st = embedder._model
        self.tokenizer = st.tokenizer
        self.model = copy.deepcopy(st[0].auto_model).eval()
        layers = self.model.encoder.layer
        n = len(layers)
        scale = self.meta["alpha"] / self.meta["rank"]
        with torch.no_grad():
            for li in range(n - self.meta["top"], n):
                for t in self.meta["targets"]:
                    lin = _module(layers[li], t)
                    a = torch.from_numpy(data[f"{li}.{t}.A"].astype(np.float32))
                    b = torch.from_numpy(data[f"{li}.{t}.B"].astype(np.float32))
                    lin.weight += scale * (b @ a)
        self.w = torch.from_numpy(data["head.w"].astype(np.float32))
        self.b = float(data["head.b"])
        self._lock = threading.Lock()

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(the evidence backs the claim) for each (claim, evidence)."""
        if not pairs:
            return []
        import torch

        with self._lock, torch.inference_mode():
            threads = torch.get_num_threads()
            torch.set_num_threads(1 if len(pairs) <= 4 else threads)
            try:
                enc = self.tokenizer([c for c, _ in pairs], [e for _, e in pairs], truncation="only_second",
                                     max_length=MAX_TOKENS, padding=True, return_tensors="pt")
                h = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                               token_type_ids=enc.get("token_type_ids")).last_hidden_state
                z = _pool(h, enc["attention_mask"]) @ self.w + self.b
            finally:
                torch.set_num_threads(threads)
        return [1.0 / (1.0 + math.exp(-float(x))) for x in z]


_LOADED: dict[int, CrossCheck | None] = {}
_LOAD_LOCK = threading.Lock()


def get(embedder) -> CrossCheck | None:
    """The packaged cross-encoder on `embedder` (None when not fitted)."""
    key = id(embedder)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = CrossCheck(embedder) if PATH.is_file() else None
        return _LOADED[key]


# ---- fitting -----------------------------------------------------------------------


def train(embedder, pairs: Sequence[tuple[str, str, bool]], epochs: int = 2, batch: int = 32, lr: float = 2e-3,
          seed: int = 0, progress=None, top: int = TOP) -> bytes:
    """Fit adapters and head on (claim, evidence, supported) pairs; returns the
    `.npz` bytes to save."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    st = embedder._model
    tok = st.tokenizer
    model = copy.deepcopy(st[0].auto_model).train()
    for p in model.parameters():
        p.requires_grad_(False)
    layers = model.encoder.layer
    n = len(layers)
    n_top = top
    bottom, top = list(range(n - n_top)), list(range(n - n_top, n))
    model.eval()
    # 1. the frozen bottom once per pair, batched by length
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    cached = []
    with torch.no_grad():
        for k in range(0, len(order), batch):
            idx = order[k : k + batch]
            enc = tok([pairs[i][0] for i in idx], [pairs[i][1] for i in idx], truncation="only_second",
                      max_length=MAX_TOKENS, padding=True, return_tensors="pt")
            h = model.embeddings(input_ids=enc["input_ids"], token_type_ids=enc.get("token_type_ids"))
            m = _mask(enc["attention_mask"])
            for li in bottom:
                h = layers[li](h, m)
            y = torch.tensor([float(pairs[i][2]) for i in idx])
            cached.append((h.to(torch.float16), enc["attention_mask"], y))
            if progress and (k // batch) % 20 == 0:
                progress(f"encoded {k + len(idx)}/{len(pairs)}")
    # 2. adapters on the top layers
    alpha = 2.0 * RANK
    adapters = {}
    params = []
    for li in top:
        for t in _TARGETS:
            lin = _module(layers[li], t)
            a = torch.nn.Parameter(torch.randn(RANK, lin.in_features) / math.sqrt(lin.in_features))
            b = torch.nn.Parameter(torch.zeros(lin.out_features, RANK))
            adapters[(li, t)] = (a, b)
            params += [a, b]
            lin.forward = _lora_forward(lin, a, b, alpha / RANK)
    dim = model.config.hidden_size * 2
    w = torch.nn.Parameter(torch.zeros(dim))
    bias = torch.nn.Parameter(torch.zeros(()))
    opt = torch.optim.AdamW(params + [w, bias], lr=lr, weight_decay=0.01)
    pos = sum(p[2] for p in pairs)
    pw = torch.tensor((len(pairs) - pos) / max(1, pos))
    steps = epochs * len(cached)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    for layer in (layers[li] for li in top):
        layer.train()
    step = 0
    for ep in range(epochs):
        for bi in rng.permutation(len(cached)):
            h, attn, y = cached[bi]
            h = h.to(torch.float32)
            m = _mask(attn)
            for li in top:
                h = layers[li](h, m)
            z = _pool(h, attn) @ w + bias
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y, pos_weight=pw)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress and step % 20 == 0:
                progress(f"epoch {ep + 1} step {step}/{steps} loss {loss.item():.3f}")
    # 3. the artifact
    out = {}
    for (li, t), (a, b) in adapters.items():
        out[f"{li}.{t}.A"] = a.detach().numpy().astype(np.float16)
        out[f"{li}.{t}.B"] = b.detach().numpy().astype(np.float16)
    out["head.w"] = w.detach().numpy().astype(np.float32)
    out["head.b"] = np.array(float(bias.detach()), dtype=np.float32)
    meta = {"rank": RANK, "alpha": alpha, "top": n_top, "targets": list(_TARGETS), "pairs": len(pairs),
            "epochs": epochs, "seed": seed}
    out["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **out)
    return buf.getvalue()


def _lora_forward(lin, a, b, scale):
    import torch

    base = lin.forward

    def forward(x):
        return base(x) + scale * torch.nn.functional.linear(torch.nn.functional.linear(x, a), b)

    return forward
