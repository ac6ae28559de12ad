"""Chat models behind `TUTOR_LLM=provider:model`, built with LangChain's
`init_chat_model`.

    openai:MODEL        OpenAI, or any OpenAI-compatible server via OPENAI_BASE_URL
                        (vLLM, llama.cpp server, LM Studio); without OPENAI_API_KEY
                        a placeholder key is sent, which local servers ignore
    ollama:MODEL        a local Ollama (OLLAMA_HOST, default http://127.0.0.1:11434)
    gguf:/path/x.gguf   llama.cpp in this process through `xllamacpp`: its native
                        HTTP server on a free loopback port, spoken to by ChatOpenAI

Every model gets a timeout and `max_retries=0`: a dead or slow LLM must fail
fast so the grounded responder can answer instead. One llama.cpp server is kept
per GGUF path for the whole process (loading costs ~0.5 s and its RAM).

Deliberate simplifications: the in-process server holds one slot (requests are
served one at a time) and a fixed context of 4096 tokens; a gguf server lives
until the process ends (or `shutdown_gguf_servers()`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from tutor.errors import ConfigError, LLMError

log = logging.getLogger(__name__)

PROVIDERS = ("openai", "ollama", "gguf")
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.2
EVAL_SEED = 0  # `tutor eval --llm` samples with this seed, so two runs (two commits) compare case by case
GGUF_CONTEXT = 4096
PLACEHOLDER_API_KEY = "sk-local-no-key"  # local OpenAI-compatible servers accept any key


class LLMSpecError(ConfigError, ValueError):
    """`TUTOR_LLM` / `--llm` names an unknown provider or no model. A ValueError
    (an unsupported choice) that the CLI also reports as a clean TutorError."""


def parse_spec(spec: str) -> tuple[str, str]:
    """Split 'provider:model' and check the provider.

    >>> parse_spec("openai:gpt-4o-mini")
    ('openai', 'gpt-4o-mini')
    >>> parse_spec("gguf:/m/a:b.gguf")
    ('gguf', '/m/a:b.gguf')
    """
    provider, sep, model = (spec or "").strip().partition(":")
    provider = provider.strip().lower()
    if not sep or provider not in PROVIDERS:
        raise LLMSpecError(
            f"unknown LLM provider in '{spec}'; use provider:model with provider one of: "
            f"{', '.join(PROVIDERS)} (e.g. openai:gpt-4o-mini, ollama:llama3.2, gguf:/path/model.gguf)"
        )
    if not model.strip():
        raise LLMSpecError(f"the LLM spec '{spec}' names no model; write {provider}:MODEL")
    return provider, model.strip()


def make_chat_model(
    spec: str,
    timeout: float,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    seed: int | None = None,
):
    """A LangChain chat model for `spec`, with timeouts and no retries. `seed`
    fixes the sampling (the eval's; a learner's chat samples afresh)."""
    from langchain.chat_models import init_chat_model

    provider, model = parse_spec(spec)
    seeded = {"seed": seed} if seed is not None else {}
    if provider == "openai":
        return init_chat_model(
            model,
            model_provider="openai",
            base_url=os.environ.get("OPENAI_BASE_URL") or None,
            api_key=os.environ.get("OPENAI_API_KEY") or PLACEHOLDER_API_KEY,
            timeout=timeout,
            max_retries=0,
            max_tokens=max_tokens,
            temperature=temperature,
            **seeded,
        )
    if provider == "ollama":
        return init_chat_model(
            model,
            model_provider="ollama",
            base_url=os.environ.get("OLLAMA_HOST") or None,
            client_kwargs={"timeout": timeout},
            num_predict=max_tokens,
            temperature=temperature,
            **seeded,
        )
    server = gguf_server(model)
    return init_chat_model(
        Path(model).name,
        model_provider="openai",
        base_url=f"{server.base_url}/v1",
        api_key=PLACEHOLDER_API_KEY,
        timeout=timeout,
        max_retries=0,
        max_tokens=max_tokens,
        temperature=temperature,
        **seeded,
    )


# ---- in-process llama.cpp ------------------------------------------------------


def llama_params(model_path: str | Path, *, port: int = 0, n_ctx: int = GGUF_CONTEXT, threads: int | None = None):
    """xllamacpp.CommonParams for a loopback-only server (port 0: the OS picks a free one).

    Threads default to half the cores: llama.cpp's threads spin-wait on each
    other, so they suffer badly when they compete for the cores with the tutor's
    own work (embedding, the guard, the web server). Measured here, 2 cores,
    SmolLM2-135M, 590-token prompt + 40 tokens: idle machine, 2 threads 1.6 s vs
    1 thread 2.9 s; busy machine (load 5), 2 threads 10-30 s vs 1 thread 3-4 s."""
    import xllamacpp

    threads = threads or max(1, (os.cpu_count() or 2) // 2)
    p = xllamacpp.CommonParams()
    p.model.path = str(model_path)
    p.hostnames = ["127.0.0.1"]
    p.port = port
    p.n_ctx = n_ctx
    p.n_parallel = 1
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.verbosity = -1  # llama.cpp logs to stderr otherwise
    return p


def wait_healthy(base_url: str, timeout: float = 30.0) -> None:
    """Block until GET /health answers 200, or raise LLMError."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=1.0) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as err:
            last = err
        time.sleep(0.05)
    raise LLMError(f"the llama.cpp server at {base_url} did not become ready in {timeout:.0f} s ({last})")


class GGUFServer:
    """llama.cpp's OpenAI-compatible HTTP server, in this process, on 127.0.0.1."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = GGUF_CONTEXT, threads: int | None = None):
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise LLMError(f"the GGUF model file {path} does not exist; check the path in TUTOR_LLM / --llm")
        try:
            import xllamacpp
        except ImportError as err:  # pragma: no cover - xllamacpp is a dependency
            raise LLMError("the gguf provider needs the 'xllamacpp' package; pip install xllamacpp") from err
        self.path = path
        started = time.perf_counter()
        try:
            self._server = xllamacpp.Server(llama_params(path, n_ctx=n_ctx, threads=threads))
        except Exception as err:  # the binding raises plain RuntimeError/ValueError
            raise LLMError(f"llama.cpp could not load {path}: {err}") from err
        self.base_url = self._server.listening_address.rstrip("/")
        # Ready before use, and before any destruction: tearing down a server
        # that is still warming up can deadlock inside llama.cpp.
        wait_healthy(self.base_url)
        log.info("llama.cpp serving %s at %s (%.2f s)", path.name, self.base_url, time.perf_counter() - started)

    def close(self) -> None:
        """Stop the server (its destructor ends the main loop and frees the model)."""
        self.__dict__.pop("_server", None)


_servers: dict[str, GGUFServer] = {}
_servers_lock = threading.Lock()


def gguf_server(model_path: str | Path) -> GGUFServer:
    """The process-wide server for this GGUF file, started on first use."""
    key = str(Path(model_path).expanduser().resolve())
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = GGUFServer(key)
        return server


def shutdown_gguf_servers() -> None:
    with _servers_lock:
        for server in _servers.values():
            server.close()
        _servers.clear()
