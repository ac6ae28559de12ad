"""Real servers for tests and benchmarks, started in temporary folders on
loopback ports: a PostgreSQL cluster (Debian's `postgresql` package), a Chroma
server (`chroma run`) and `tutor serve` instances.

PostgreSQL refuses to run as root, so when the tests run as root (CI
containers) the cluster is owned by and run as an unprivileged system account
(`postgres`, which Debian's package creates, else `nobody`), through
`subprocess`'s `user=`/`group=`; its folder is made under /tmp (pytest's own
temp folders are private to root).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_GLOB = "/usr/lib/postgresql/*/bin/initdb"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob(PG_GLOB), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


class Postgres:
    """A throwaway PostgreSQL cluster: `start()`, `stop()` (and start again:
    the data stays), `create_database()`, `close()` removes everything."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.user = "tutor"
        self._os_user = _unprivileged_account() if os.geteuid() == 0 else None
        self.base = Path(tempfile.mkdtemp(prefix="tutor-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        if self._os_user:
            for path in (self.base, pwfile):
                os.chown(path, self._os_user.pw_uid, self._os_user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile),
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        pwfile.unlink()

    def _run(self, program: str, *args: str, timeout: float = 120) -> None:
        kwargs = {}
        if self._os_user:
            kwargs = {"user": self._os_user.pw_uid, "group": self._os_user.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.base), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        done = subprocess.run([str(self.bin / program), *args], cwd=self.base, env=env, capture_output=True,
                              text=True, timeout=timeout, **kwargs)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()[-1500:]}"
                               f"\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when a database server goes away."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        if self.running():
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


def _unprivileged_account() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is no 'postgres' or 'nobody' account to run PostgreSQL as")


class Chroma:
    """`chroma run` on a loopback port with its data in `path`."""

    def __init__(self, path: Path, timeout: float = 90):
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chroma = Path(sys.executable).with_name("chroma")
        self.proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError("the Chroma server did not start")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def tutor_env(home: Path, **extra: str) -> dict:
    """The environment for a `tutor` subprocess of this checkout."""
    env = {**os.environ, "TUTOR_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False",
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    for var in ("TUTOR_LLM", "TUTOR_CHROMA_URL", "TUTOR_DATABASE_URL", "TUTOR_EMBEDDING_MODEL"):
        env.pop(var, None)
    env.update(extra)
    return env


class Tutor:
    """One `tutor serve` process; `url` once it answers `/config`."""

    def __init__(self, env: dict, *args: str, port: int | None = None, log: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log or Path(tempfile.mkstemp(prefix="tutor-serve-", suffix=".log")[1])
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutor", "serve", "--port", str(self.port), *args],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, text=True,
        )

    def wait_ready(self, timeout: float = 240) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tutor serve exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                if httpx.get(self.url + "config", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"tutor serve did not come up on {self.url}:\n{self.output()[-3000:]}")

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
