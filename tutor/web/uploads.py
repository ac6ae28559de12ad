"""Bringing an article in the browser (`tutor serve --allow-uploads`).

`Uploads` turns what a learner gives the full page (a file, pasted text, or a
web address the server fetches) into one corpus file under
`<home>/uploads/` and ingests it with `Index.ingest`, the code path of
`tutor ingest`, so validation, cleaning, the one-line errors ("file is
empty", "binary file, not text", "not UTF-8 (looks like Shift-JIS)") and the
home's writer lock are the same. `panel()` builds the "Add an article"
control for the page and wires it to `Uploads`.

A failed upload changes nothing: the bytes are checked in a private staging
folder with `load_document` first (same errors as ingest), the file is moved
into `uploads/` only once it loads, and removed again (or the earlier upload
of the same name restored) if the ingest does not take it. The index itself
is never touched by a failure: ingest publishes a new version or nothing.

`upload_limit()` is the byte cap handed to Gradio's `max_file_size`, which
bounds `/gradio_api/upload` itself: the upload size on the page that offers
the control, 0 bytes on every page that does not (the tutor has no other use
for Gradio's upload endpoint).

Written by hand, on purpose: fetching a URL is a few lines of httpx (already a
Gradio dependency) with a timeout, a redirect limit and a byte cap while
streaming; there is no library whose job is exactly that.

Deliberate simplifications:
- A fetched URL is one page: no JavaScript is run, no multi-page articles.
- The server fetches any http(s) address it can reach, loopback and the local
  network included; that is why uploads are off by default. Enable them only
  where the learners may make the server fetch pages.
- An article whose doc_id is already in the library from another source is
  refused (rename the file) rather than silently replacing that article.
"""

from __future__ import annotations

import html
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tutor.corpus import SUPPORTED_SUFFIXES, load_document, slugify
from tutor.errors import IngestBusyError, InputFileError, TutorError

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_MB = 5.0
FETCH_TIMEOUT = 15.0  # seconds: connecting, and between two pieces of the page
MAX_REDIRECTS = 5
_MB = 1024 * 1024
PHASES = {"fetching": "fetching the page", "loading": "loading and cleaning", "parsing": "parsing", "chunking": "chunking",
          "embedding": "embedding"}
# rough share of the work per phase, for one progress bar over the whole ingest
_SPAN = {"loading": (0, 10), "parsing": (10, 45), "chunking": (45, 55), "embedding": (55, 100)}
_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
          "text/markdown": ".md", "text/x-markdown": ".md", "text/plain": ".txt"}

Progress = Callable[[str, int, int], None]


def upload_limit(enabled: bool, max_mb: float = DEFAULT_UPLOAD_MB) -> int:
    """Bytes Gradio's upload endpoint accepts on a page: the cap where the page
    offers uploads, 0 where it does not."""
    return int(max_mb * _MB) if enabled else 0


@dataclass
class Added:
    """An article the library now holds."""

    doc_id: str
    title: str
    warnings: list[dict] = field(default_factory=list)


class Uploads:
    """Add one article at a time to the engine's index, from bytes, text or a URL."""

    def __init__(self, engine, max_mb: float = DEFAULT_UPLOAD_MB, timeout: float = FETCH_TIMEOUT):
        self.engine = engine
        self.max_mb = max_mb
        self.timeout = timeout
        self.folder = Path(engine.settings.home) / "uploads"
        self._lock = threading.Lock()  # one upload at a time per process

    # ---- the three ways in ---------------------------------------------------------
    def add_file(self, path: Path | str, progress: Progress | None = None) -> Added:
        """A file the browser uploaded (Gradio's temporary copy, named as the learner's)."""
        path = Path(path)
        self._check_suffix(path.name)
        try:
            size = path.stat().st_size
        except OSError:
            raise InputFileError(f"{path.name}: the upload did not arrive; try again") from None
        self._check_size(path.name, size)
        return self.add_bytes(path.read_bytes(), path.name, progress)

    def add_text(self, text: str, progress: Progress | None = None) -> Added:
        """Pasted text: stored as a plain-text article named after its first words."""
        if not text.strip():
            raise InputFileError("pasted text: file is empty")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, from a browser or the API
            raise InputFileError("pasted text: holds characters that are not text (lone surrogates)") from None
        first = next(line for line in text.splitlines() if line.strip())
        stem = slugify(" ".join(first.split()[:8]))[:60].strip("-") or "pasted-text"
        return self.add_bytes(data, self._free_name(stem, ".txt", data), progress, shown="pasted text")

    def add_url(self, url: str, progress: Progress | None = None) -> Added:
        data, name = self.fetch(url, progress)
        return self.add_bytes(data, name, progress, shown=url.strip())

    def work_for(self, file_path: str | None, pasted: str | None, address: str | None
                 ) -> tuple[str, Callable[[Progress], Added]]:
        """What the page's form asks for: (a label for the status line, the work
        to run with a progress callback). Exactly one of the three must be given."""
        address, text = (address or "").strip(), pasted or ""
        given = [x for x in (file_path, address, text.strip()) if x]
        if len(given) > 1:
            raise InputFileError("give one article at a time: a file, a web address or pasted text")
        if file_path:
            return Path(file_path).name, lambda progress: self.add_file(file_path, progress)
        if address:
            return address, lambda progress: self.add_url(address, progress)
        if text.strip():
            return "the pasted text", lambda progress: self.add_text(text, progress)
        raise InputFileError("choose a file, paste the article's text or give its web address first")

    def _free_name(self, stem: str, suffix: str, data: bytes) -> str:
        """`stem + suffix`, or `stem-2 + suffix`, ...: a pasted text never replaces an
        earlier, different one that begins with the same words (the same text again
        is the same article)."""
        for n in range(1, 1000):
            name = f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"
            kept = self.folder / name
            if not kept.exists() or kept.read_bytes() == data:
                return name
        raise InputFileError(f"pasted text: too many pasted articles begin with the same words ('{stem}')")

    # ---- fetching ------------------------------------------------------------------
    def fetch(self, url: str, progress: Progress | None = None) -> tuple[bytes, str]:
        """The page's bytes and a file name with the suffix its type calls for.

        At most `max_mb` are read (the declared length is checked first, then
        the bytes as they stream); `timeout` bounds connecting and each read."""
        import httpx

        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputFileError(f"{url}: not a web address (it must start with http:// or https://)")
        cap = int(self.max_mb * _MB) if self.max_mb else None
        if progress:
            progress("fetching", 0, cap or 1)
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS,
                              headers={"User-Agent": "article-tutor"}, trust_env=False) as client:
                with client.stream("GET", url) as response:
                    if response.status_code >= 400:
                        raise InputFileError(
                            f"{url}: the server answered {response.status_code} {response.reason_phrase}".rstrip()
                        )
                    declared = response.headers.get("content-length", "")
                    if cap and declared.isdigit() and int(declared) > cap:
                        raise InputFileError(self._too_big(url, int(declared)))
                    body = bytearray()
                    for piece in response.iter_bytes():
                        body += piece
                        if cap and len(body) > cap:
                            raise InputFileError(f"{url}: the page is larger than the {self.max_mb:g} MB limit for uploads")
                        if progress:
                            progress("fetching", len(body), cap or len(body))
                    final = response.url
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        except httpx.TimeoutException:
            raise InputFileError(f"{url}: no answer within {self.timeout:g} s") from None
        except httpx.TooManyRedirects:
            raise InputFileError(f"{url}: more than {MAX_REDIRECTS} redirects") from None
        except httpx.HTTPError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputFileError(f"{url}: cannot be fetched ({reason})") from None
        return bytes(body), _name_for(final.path, final.host or "", kind, url)

    # ---- ingesting -----------------------------------------------------------------
    def add_bytes(self, data: bytes, name: str, progress: Progress | None = None,
                  shown: str | None = None) -> Added:
        """Check, store and ingest one article; InputFileError/IngestBusyError say why not.

        `name` gives the type (its suffix) and the doc_id (its stem); `shown` is
        what messages call the article (default: `name`)."""
        shown = shown or name
        self._check_suffix(name)
        self._check_size(shown, len(data))
        if not self._lock.acquire(blocking=False):
            raise IngestBusyError("another article is being added; try again when it is in the library")
        try:
            return self._add(data, name, shown, progress)
        finally:
            self._lock.release()

    def _add(self, data: bytes, name: str, shown: str, progress: Progress | None) -> Added:
        safe = (slugify(Path(name).stem)[:80] or "article") + Path(name).suffix.lower()
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.folder))
        try:
            staged = staging / safe
            staged.write_bytes(data)
            if progress:
                progress("loading", 0, 1)
            try:  # the checks of `tutor ingest`, before anything is kept
                document = load_document(staged, max_mb=self.max_mb)
            except InputFileError as exc:
                raise InputFileError(_renamed(str(exc), staged, shown)) from None
            final = self.folder / safe
            existing = self._documents().get(document.doc_id)
            if existing is not None and Path(existing.source) != final:
                raise InputFileError(
                    f"{shown}: the library already has an article with the id '{document.doc_id}' "
                    f"(\"{existing.title}\"); rename the file to add this one beside it"
                )
            backup = None
            if final.exists():
                backup = staging / (safe + ".before")
                os.replace(final, backup)
            os.replace(staged, final)
            try:
                report = self.engine.index.ingest([final], progress=progress, max_mb=self.max_mb)
            except BaseException:
                _restore(final, backup)
                raise
            if report.failed:
                _restore(final, backup)
                raise InputFileError(_renamed(report.failed[0]["error"], final, shown))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.engine.index.snapshot(max_age=0)  # every page sees the new article at once
        stored = self._documents()[document.doc_id]
        log.info("added %s as %s from %s", stored.title, stored.doc_id, shown)
        return Added(stored.doc_id, stored.title, report.warnings)

    def _documents(self) -> dict:
        try:
            return dict(self.engine.index.snapshot(max_age=0).documents)
        except TutorError:
            return {}

    # ---- checks --------------------------------------------------------------------
    @staticmethod
    def _check_suffix(name: str) -> None:
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            accepted = " ".join(SUPPORTED_SUFFIXES)
            raise InputFileError(f"{name}: unsupported file type '{suffix or '(none)'}'; accepted: {accepted}")

    def _check_size(self, shown: str, size: int) -> None:
        if self.max_mb and size > self.max_mb * _MB:
            raise InputFileError(self._too_big(shown, size))

    def _too_big(self, shown: str, size: int) -> str:
        return f"{shown}: file is {size / _MB:.1f} MB; the limit for uploads is {self.max_mb:g} MB"


def _name_for(path: str, host: str, kind: str, url: str) -> str:
    """A file name for a fetched page: its last path segment (or host), with the
    suffix the content type calls for (else the URL's own, if supported)."""
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    stem, dot, ext = segment.rpartition(".")
    if not dot:
        stem, ext = segment, ""
    suffix = _TYPES.get(kind) or (f".{ext.lower()}" if f".{ext.lower()}" in SUPPORTED_SUFFIXES else "")
    if not suffix:
        raise InputFileError(f"{url}: unsupported content type '{kind or 'none'}'; "
                             "a web page, PDF, Markdown or plain text is needed")
    return (slugify(stem) or slugify(host) or "page") + suffix


def _renamed(message: str, path: Path, shown: str) -> str:
    """An ingest message about a server-side path, told about what the learner gave."""
    return message.replace(str(path), shown)


def _restore(final: Path, backup: Path | None) -> None:
    try:
        if backup is not None:
            os.replace(backup, final)
        else:
            final.unlink(missing_ok=True)
    except OSError:
        log.warning("could not tidy %s after a failed upload", final, exc_info=True)


# ---- the page's control ---------------------------------------------------------------
def status_html(kind: str, text: str, percent: float | None = None) -> str:
    """The status line under the control: progress, an error, or what was added."""
    body = html.escape(text)
    if kind == "progress":
        bar = f'<progress max="100" value="{percent or 0:.0f}" aria-label="Adding the article"></progress>'
        return f'<div class="tutor-add-status busy" role="status">{bar} <span>{body}</span></div>'
    role = "alert" if kind == "error" else "status"
    return f'<div class="tutor-add-status {kind}" role="{role}"><p>{body}</p></div>'


def run_with_progress(work: Callable[[Progress], Added], label: str,
                      poll: float = 0.2) -> Iterator[tuple[str, Added | None]]:
    """Run `work(progress)` in a thread; yield (status html, None) as it moves,
    then (status html, Added or None) once it is done."""
    state = {"phase": "starting", "done": 0, "total": 1}
    result: dict = {}

    def progress(phase: str, done: int, total: int) -> None:
        state.update(phase=phase, done=done, total=max(total, 1))

    def target() -> None:
        try:
            result["added"] = work(progress)
        except TutorError as exc:
            result["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - the learner gets one line, the log the rest
            log.exception("adding an article failed")
            result["error"] = f"the article could not be added ({type(exc).__name__}); see the server log"

    def painted() -> str:
        phase = state["phase"]
        lo, hi = _SPAN.get(phase, (0, 5))
        percent = lo + (hi - lo) * min(1.0, state["done"] / state["total"])
        return status_html("progress", f"Adding {label}: {PHASES.get(phase, phase)}…", percent)

    thread = threading.Thread(target=target, name="tutor-upload", daemon=True)
    thread.start()
    last = painted()
    yield last, None
    while thread.is_alive():
        thread.join(poll)
        now = painted()
        if now != last and thread.is_alive():
            last = now
            yield now, None
    if "added" in result:
        added = result["added"]
        note = f" ({len(added.warnings)} warning{'s' if len(added.warnings) != 1 else ''} in the server log)" \
            if added.warnings else ""
        for w in added.warnings:
            log.warning("%s: %s: %s", w.get("source"), w.get("warning"), w.get("sentence", ""))
        yield status_html("ok", f"Added “{added.title}”: pick it in the Article list to ask about it.{note}"), added
    else:
        yield status_html("error", _as_line(result.get("error", "the article could not be added"))), None


def _as_line(message: str) -> str:
    """Ingest's message as the page shows it: its words as they are (a file name
    keeps its case), on one line, with a full stop."""
    message = " ".join(message.split())
    return message if message.endswith((".", "!", "?")) else message + "."


def panel(uploads: Uploads, doc) -> None:
    """The "Add an article" control, built inside the current `gr.Blocks`; on
    success the article picker `doc` lists the new article (and shows itself)."""
    import gradio as gr

    limit = f"{uploads.max_mb:g} MB"
    with gr.Accordion("Add an article", open=False, elem_id="tutor-add"):
        file = gr.File(label=f"Upload a file (.md, .txt, .html or .pdf, at most {limit})",
                       file_types=list(SUPPORTED_SUFFIXES), type="filepath", file_count="single",
                       elem_id="tutor-add-file")
        text = gr.Textbox(label="Or paste the article's text", lines=4, max_lines=12,
                          max_length=int(uploads.max_mb * _MB) if uploads.max_mb else None,
                          elem_id="tutor-add-text")
        url = gr.Textbox(label="Or give its web address", placeholder="https://…", lines=1,
                         elem_id="tutor-add-url")
        go = gr.Button("Add the article", variant="secondary", elem_id="tutor-add-go")
        status = gr.HTML("", elem_id="tutor-add-status")

    def on_add(file_path, pasted, address, current):
        try:
            label, work = uploads.work_for(file_path, pasted, address)
        except InputFileError as exc:
            yield status_html("error", _as_line(str(exc))), gr.Dropdown(), gr.File(), gr.Textbox(), gr.Textbox()
            return
        for shown, added in run_with_progress(work, label):
            if added is None:
                yield shown, gr.Dropdown(), gr.File(), gr.Textbox(), gr.Textbox()
                continue
            if file_path:  # Gradio's cached copy of the upload: the library keeps its own
                Path(file_path).unlink(missing_ok=True)
            docs = uploads.engine.documents
            choices = [(d.title, d.doc_id) for d in docs.values()]
            keep = current if current in docs else next(iter(docs))
            yield (shown, gr.Dropdown(choices=choices, value=keep, visible=len(docs) > 1),
                   gr.File(value=None), gr.Textbox(value=""), gr.Textbox(value=""))

    go.click(on_add, [file, text, url, doc], [status, doc, file, text, url], show_progress="hidden",
             concurrency_limit=1, concurrency_id="tutor-uploads", api_visibility="private")

