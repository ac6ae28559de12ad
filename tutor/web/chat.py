"""The web UI's conversations, without Gradio: plain methods and one plain
generator (`TutorChat.respond`) that the Gradio app wires to components and
that tests drive directly.

A conversation is identified by (browser id, view):
* the browser id is random, made on the first visit and kept by the browser
  (`gr.BrowserState`), so two browsers never share a conversation and a reload
  finds the same one;
* the view separates the full page (`app`), each widget slot
  (`widget:<doc>:<mode>`, from the widget URL) and API callers (`api`).

Each conversation is one `tutor.session.Session` plus what the page shows (chat
messages, the replies that can be rated, each with its citations and a turn id
that its `[n]` links point to, so the Sources panel lists the sources of every
answer, turn by turn). One tutor turn may be several chat messages: the answer,
then a notice ("the LLM was unavailable ...") and the quiz's next question, each
its own bubble. The
store (`tutor.store`: SQLite, or PostgreSQL shared by several instances) is the
only copy: every request reads the conversation, and a turn is saved as one
write against the version it read. When another instance (or thread) wrote a
turn in between, the write is refused and the turn is answered again on the
newer conversation, so no turn is lost and any instance can take any message.
When the store cannot be reached, nothing of the turn is kept: the learner gets
a short note and the message stays in the box to send again.

Errors never escape as tracebacks: a typed `TutorError` becomes its own
one-sentence message in the chat, anything else a short apology (and a log
line with the traceback for the operator).

Deliberate simplifications: within one process, one lock per conversation (a
second message sent while the first is being answered waits up to `BUSY_WAIT`
seconds, then gets a "still answering" note); between processes, optimistic
retries (`SAVE_ATTEMPTS`); the displayed chat is capped at `MAX_MESSAGES`.
"""

from __future__ import annotations

import copy
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from tutor.config import MAX_MESSAGE_CHARS
from tutor.errors import StoreError, TutorError
from tutor.reply import Reply
from tutor.session import MODES, Session, validate_message
from tutor.web import render
from tutor.web.store import StoreConflict, WebStore

log = logging.getLogger(__name__)

MAX_MESSAGES = 200
BUSY_WAIT = 30.0
SAVE_ATTEMPTS = 5  # answers of one turn before giving up on a conversation that keeps changing
STARTERS = 4
_SID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

MODE_NOTES = {
    "explain": "Explain mode: ask anything about the article; every answer cites the passages it comes from.",
    "socratic": "Socratic mode: ask about the article and I will help you work the answer out from the text, with questions and hints.",
}
SORRY = "Sorry, something went wrong while answering. Please try again."
BUSY = "I am still answering your previous message; send this one again in a moment."
CHURN = "this conversation is being changed from several places at once; please try again"


@dataclass
class ChatView:
    """Everything the page shows for one conversation after an event."""

    messages: list[dict]
    sources: list[dict]  # citations (as dicts) of the last answer
    mode: str
    doc_id: str | None
    progress: dict | None = None  # Session.progress() in quiz mode
    draft: str = ""  # what stays in the message box
    turns: list[dict] = field(default_factory=list)  # {"turn", "question", "citations"}, newest first


@dataclass
class Conversation:
    sid: str
    view: str
    session: Session
    messages: list[dict] = field(default_factory=list)
    replies: dict[str, dict] = field(default_factory=dict)  # message index -> rated reply
    sources: list[dict] = field(default_factory=list)
    version: int = 0  # the store's version this was read at; 0: not stored yet
    fresh: bool = False  # made by this request (not read from the store): nothing has been said yet

    def to_record(self) -> dict:
        return {
            "version": 1,
            "state": self.session.to_state(),
            "messages": self.messages,
            "replies": self.replies,
            "sources": self.sources,
        }

    def add_reply(self, question: str | None, reply: Reply) -> None:
        """Append a tutor turn: the answer (with footnotes and live `[n]` links),
        then its notice and its next question as messages of their own; the
        answer is remembered for rating and for the Sources panel."""
        citations = [asdict(c) for c in reply.citations]
        turn = secrets.token_hex(4)
        self.messages.append({"role": "assistant", "content": render.answer_markdown(reply.body, citations, turn)})
        self.replies[str(len(self.messages) - 1)] = {
            "question": question or "",
            "answer": reply.answer,
            "citations": citations,
            "mode": reply.mode,
            "doc_id": self.session.doc_id,
            "turn": turn,
        }
        if reply.notice:
            self.messages.append(render.notice_message(render.sentence(reply.notice)))
        if reply.next_message:
            self.messages.append({"role": "assistant", "content": render.answer_markdown(reply.next_message, [])})
        self.sources = citations

    def turns(self) -> list[dict]:
        """The sources of every answer that cited any, newest first."""
        out = []
        for index, rated in sorted(self.replies.items(), key=lambda kv: -int(kv[0])):
            if rated.get("citations"):
                out.append({"turn": rated.get("turn") or f"m{index}", "question": rated.get("question", ""),
                            "citations": rated["citations"]})
        return out

    def trim(self) -> None:
        drop = len(self.messages) - MAX_MESSAGES
        if drop <= 0:
            return
        while drop < len(self.messages) and self.messages[drop]["role"] != "user":
            drop += 1  # start at a learner message: whole turns go
        self.messages = self.messages[drop:]
        self.replies = {str(int(k) - drop): v for k, v in self.replies.items() if int(k) >= drop}


class _KeyLocks:
    """One lock per conversation within this process, kept only while someone
    holds or waits for it (so it is no cache: nothing of a learner is in it)."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._locks: dict[tuple[str, str], list] = {}

    @contextmanager
    def hold(self, key: tuple[str, str], timeout: float) -> Iterator[bool]:
        with self._mutex:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        got = entry[0].acquire(timeout=timeout)
        try:
            yield got
        finally:
            if got:
                entry[0].release()
            with self._mutex:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[key]


class TutorChat:
    """All conversations of one web server. It keeps none of them: each call
    reads the conversation from the store and writes the change back."""

    def __init__(self, engine, store: WebStore, llm=None, pace: float = 0.0):
        """`pace`: seconds to wait after each streamed piece, so that a browser
        paints every piece even when they are produced at once (the Gradio
        app sets it; tests of this class leave it at 0)."""
        self.engine = engine
        self.store = store
        self.llm = llm
        self.pace = pace
        self._locks = _KeyLocks()

    # ---- identities ------------------------------------------------------------
    @staticmethod
    def new_sid() -> str:
        return secrets.token_urlsafe(18)

    @staticmethod
    def valid_sid(value) -> bool:
        return isinstance(value, str) and bool(_SID_RE.match(value))

    def documents(self) -> dict:
        return self.engine.documents

    def pick_doc(self, doc_id: str | None) -> str | None:
        """`doc_id` if the index holds it, else the first article."""
        docs = self.documents()
        return doc_id if doc_id in docs else next(iter(docs), None)

    def starters(self, doc_id: str | None) -> list[str]:
        """Opening questions for an article: the first question of each learning objective."""
        bank = self.engine.bank(doc_id) if doc_id else None
        if bank is None:
            return ["What is this article about?"]
        from tutor.questions import BLANK

        asked = [next((q.question for q in o.questions if BLANK not in q.question), None) for o in bank.objectives]
        return [q for q in asked if q][:STARTERS] or ["What is this article about?"]  # a cloze is no opener

    # ---- conversations ---------------------------------------------------------
    def open(self, sid: str, view: str, *, mode: str = "explain", doc_id: str | None = None) -> ChatView:
        """The conversation as the page should show it on load (made if new)."""
        try:
            conv = self._conversation(sid, view, mode=mode, doc_id=doc_id)
        except TutorError as exc:
            return ChatView([_note(exc)], [], mode, doc_id)
        return self._view(conv)

    def respond(self, sid: str, view: str, message: str) -> Iterator[ChatView]:
        """Answer one learner message, yielding the page after each change.

        Empty messages are ignored; a too-long one gets a note and stays in the box.
        """
        text = (message or "").strip()
        if not text or len(text) > MAX_MESSAGE_CHARS:
            try:
                conv = self._conversation(sid, view)
            except TutorError as exc:
                yield ChatView([_note(exc)], [], "explain", None, draft=message)
                return
            if not text:
                yield self._view(conv)
                return
            conv.messages.append(render.notice_message(
                f"Your message is {len(text):,} characters long; the limit is {MAX_MESSAGE_CHARS:,}. "
                "Please shorten it and send it again."
            ))
            self._save_quietly(conv)
            yield self._view(conv, draft=message)
            return
        with self._locks.hold((sid, view), BUSY_WAIT) as got:
            if not got:
                yield self._busy_view(sid, view, message)
                return
            yield from self._turn(sid, view, text, message)

    def _turn(self, sid: str, view: str, text: str, message: str) -> Iterator[ChatView]:
        """Read, answer, save; answer again on the newer conversation if another
        instance saved a turn meanwhile. Nothing is kept if saving fails."""
        conv = None
        for _ in range(SAVE_ATTEMPTS):
            try:
                conv = self._conversation(sid, view)
            except TutorError as exc:
                yield ChatView([_note(exc)], [], "explain", None, draft=message)
                return
            before = copy.deepcopy(conv.to_record())
            yield from self._answer(conv, text)
            try:
                self._save(conv)
            except StoreConflict:
                log.info("conversation %s/%s changed meanwhile; answering on the newer state", sid, view)
                continue
            except TutorError as exc:  # the store went away: the turn is not kept
                kept = self._restore(sid, view, before, conv.version)
                yield self._view(kept, draft=message, extra=_note(exc))
                return
            yield self._view(conv)
            return
        yield self._view(conv, draft=message, extra=_note(StoreError(CHURN)))

    def _answer(self, conv: Conversation, text: str) -> Iterator[ChatView]:
        """Add the learner's message and the tutor's reply to `conv` (not saved)."""
        conv.messages.append(render.user_message(text))
        conv.messages.append({"role": "assistant", "content": '<span class="tutor-typing">…</span>'})
        at = len(conv.messages) - 1  # the tutor's message: placeholder, then streamed text
        yield self._view(conv)
        partial = ""
        try:
            validate_message(text)
            reply = None
            for event in conv.session.stream(text):
                if isinstance(event, Reply):
                    reply = event
                elif event:
                    partial += event
                    conv.messages[at] = {"role": "assistant", "content": render.partial_markdown(partial)}
                    yield self._view(conv)
                    if self.pace:
                        time.sleep(self.pace)
            if reply is None:
                raise RuntimeError("the session ended without a reply")
            del conv.messages[at:]
            conv.add_reply(text, reply)
        except TutorError as exc:
            conv.messages[at:] = [_note(exc)]
        except Exception:  # noqa: BLE001  (the learner gets a short note, the log the traceback)
            log.exception("answering %r failed", text[:200])
            conv.messages[at:] = [render.notice_message(SORRY)]
        conv.trim()

    def switch_mode(self, sid: str, view: str, mode: str) -> ChatView:
        """Change mode; in quiz mode the tutor asks the first (or next) question."""
        mode = (mode or "").lower()

        def change(conv: Conversation) -> bool:
            if mode == conv.session.mode:
                return False
            conv.session.set_mode(mode)
            self._announce_mode(conv)
            return True

        return self._change_view(sid, view, change)

    def switch_doc(self, sid: str, view: str, doc_id: str) -> ChatView:
        """Another article: a new conversation about it, in the same mode."""

        def change(conv: Conversation) -> bool:
            if doc_id not in self.documents():
                raise ValueError(f"there is no article '{doc_id}' in the index")
            if doc_id == conv.session.doc_id:
                return False
            conv.session.doc_id = doc_id
            self._restart(conv)
            return True

        return self._change_view(sid, view, change)

    def new_conversation(self, sid: str, view: str, *, reset_quiz: bool = False) -> ChatView:
        """Clear the chat of this view, keeping the article, the mode and (unless
        `reset_quiz`) the quiz score and position: a quiz goes on where it was."""

        def change(conv: Conversation) -> bool:
            self._restart(conv, reset_quiz=reset_quiz)
            return True

        return self._change_view(sid, view, change)

    def rate(self, sid: str, view: str, index: int, liked) -> bool:
        """Store a like/dislike of the reply at chat position `index`; False if
        not ratable. Raises `TutorError` when the store cannot be reached."""
        if liked not in (True, False):
            return False
        conv = self._conversation(sid, view)
        rated = conv.replies.get(str(index))
        if rated is None:
            return False
        self.store.add_feedback(
            session_id=sid, view=view, vote="like" if liked else "dislike",
            question=rated["question"], reply=rated["answer"], citations=rated["citations"],
            mode=rated.get("mode"), doc_id=rated.get("doc_id"),
        )
        return True

    # ---- the API -----------------------------------------------------------------
    def ask(self, message: str, mode: str = "", doc_id: str = "", session_id: str = "") -> dict:
        """One turn for API callers: the final reply of `ask_stream` as a JSON-able dict."""
        return list(self.ask_stream(message, mode, doc_id, session_id))[-1]

    def ask_stream(self, message: str, mode: str = "", doc_id: str = "", session_id: str = "") -> Iterator[dict]:
        """One turn for API callers: partial replies while the answer is produced
        (`"partial": true`, `answer` the text so far), then the final reply
        (`"partial": false`), each a JSON-able dict of the same shape.

        Pass the returned `session_id` back to continue the conversation (a Socratic
        dialogue or a quiz needs it); leave it empty to start a new one. An empty
        `mode` keeps the session's mode (explain for a new session); a mode
        changes it. Starting a quiz (a new session in quiz mode, or a switch to
        quiz) replies with the first open question and grades nothing: the
        caller has not seen a question yet. The final reply is sent once the turn
        is saved; when another instance saved a turn of this session meanwhile,
        the turn is answered again on the newer state (its partial replies start
        over). Raises `TutorError` (message too long or empty, index missing,
        store unreachable) or `ValueError` (unknown mode or article) with a
        one-sentence message.
        """
        mode = (mode or "").strip().lower()
        if mode and mode not in MODES:
            raise ValueError(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
        if doc_id and doc_id not in self.documents():
            raise ValueError(f"unknown article '{doc_id}'; choose one of: {', '.join(self.documents())}")
        sid = session_id if self.valid_sid(session_id) else self.new_sid()
        text = validate_message(message)
        with self._locks.hold((sid, "api"), BUSY_WAIT) as got:
            if not got:
                raise TutorError("this session is still answering its previous message; send this one again in a moment")
            fresh = None  # whether the first read made the conversation (a retry reads it back)
            for _ in range(SAVE_ATTEMPTS):
                conv = self._conversation(sid, "api", mode=mode or "explain", doc_id=doc_id or None, announce=False)
                if fresh is None:
                    fresh = conv.fresh
                session = conv.session
                if doc_id and doc_id != session.doc_id:
                    session.doc_id = doc_id
                    session.reset()
                starting_quiz = mode == "quiz" and (fresh or session.mode != "quiz")
                if mode and mode != session.mode:
                    session.set_mode(mode)
                if starting_quiz:
                    reply = session.first_message()
                else:
                    reply, partial = None, ""
                    for event in session.stream(text):
                        if isinstance(event, Reply):
                            reply = event
                        elif event:
                            partial += event
                            yield self._api_json(Reply(partial, False, session.mode), sid, conv, partial=True)
                if reply is None:
                    raise RuntimeError("the session ended without a reply")
                conv.sources = [asdict(c) for c in reply.citations]
                try:
                    self._save(conv)
                except StoreConflict:
                    log.info("API session %s changed meanwhile; answering on the newer state", sid)
                    continue
                yield self._api_json(reply, sid, conv, partial=False)
                return
            raise StoreError(CHURN)

    @staticmethod
    def _api_json(reply: Reply, sid: str, conv: Conversation, *, partial: bool) -> dict:
        out = reply.to_json()
        out["citations"] = [
            {**c.to_json(), "heading": c.heading, "start": c.start, "end": c.end,
             "highlights": [list(h) for h in c.highlights]}
            for c in reply.citations
        ]
        out["session_id"] = sid
        out["partial"] = partial
        if reply.mode == "quiz":
            out["progress"] = conv.session.progress()
        return out

    # ---- internals ---------------------------------------------------------------
    def _conversation(self, sid: str, view: str, *, mode: str = "explain", doc_id: str | None = None,
                      announce: bool = True) -> Conversation:
        """The conversation as stored now; a new one is made (and stored) if there is none."""
        for _ in range(SAVE_ATTEMPTS):
            stored = self.store.get(sid, view)
            if stored is not None:
                return self._restore(sid, view, stored.data, stored.version)
            conv = self._create(sid, view, mode, doc_id, announce)
            try:
                self._save(conv)
            except StoreConflict:  # another instance made it first: read theirs
                continue
            return conv
        raise StoreError(CHURN)

    def _change(self, sid: str, view: str, change: Callable[[Conversation], bool], **new) -> Conversation:
        """Apply `change` to the stored conversation and save it (when it returns
        True), again on the newer state if another instance saved meanwhile."""
        with self._locks.hold((sid, view), BUSY_WAIT) as got:
            if not got:
                raise StoreError(BUSY.rstrip("."))
            for _ in range(SAVE_ATTEMPTS):
                conv = self._conversation(sid, view, **new)
                if not change(conv):
                    return conv
                try:
                    self._save(conv)
                except StoreConflict:
                    continue
                return conv
        raise StoreError(CHURN)

    def _change_view(self, sid: str, view: str, change: Callable[[Conversation], bool]) -> ChatView:
        try:
            return self._view(self._change(sid, view, change))
        except (TutorError, ValueError) as exc:
            return self._error_view(sid, view, exc)

    def _create(self, sid: str, view: str, mode: str, doc_id: str | None, announce: bool = True) -> Conversation:
        mode = mode if mode in MODES else "explain"
        session = Session(self.engine, mode=mode, doc_id=self.pick_doc(doc_id), llm=self.llm)
        conv = Conversation(sid, view, session, fresh=True)
        if mode == "quiz" and announce:
            self._announce_mode(conv)
        return conv

    def _restore(self, sid: str, view: str, record: dict, version: int) -> Conversation:
        state = record.get("state") or {}
        session = Session(self.engine, doc_id=state.get("doc_id"), llm=self.llm)
        session.load_state(state)
        if session.doc_id not in self.documents():  # the article left the index
            session.doc_id = self.pick_doc(None)
        return Conversation(
            sid, view, session,
            messages=list(record.get("messages") or []),
            replies=dict(record.get("replies") or {}),
            sources=list(record.get("sources") or []),
            version=version,
        )

    def _restart(self, conv: Conversation, reset_quiz: bool = True) -> None:
        quiz = conv.session.quiz
        conv.session.reset()
        if not reset_quiz:
            conv.session.quiz = quiz
        conv.messages.clear()
        conv.replies.clear()
        conv.sources = []
        if conv.session.mode == "quiz":
            self._announce_mode(conv)

    def _announce_mode(self, conv: Conversation) -> None:
        if conv.session.mode == "quiz":
            opening = conv.session.first_message()
            if opening is not None:
                conv.add_reply(None, opening)
        else:
            conv.messages.append(render.notice_message(MODE_NOTES[conv.session.mode]))

    def _save(self, conv: Conversation) -> None:
        """One write of the whole conversation, against the version it was read at."""
        conv.version = self.store.put(conv.sid, conv.view, conv.to_record(), version=conv.version)

    def _save_quietly(self, conv: Conversation) -> None:
        """For notes that need not survive (a too-long message): a failure is ignored."""
        try:
            self._save(conv)
        except (StoreConflict, TutorError):
            pass

    def _view(self, conv: Conversation, draft: str = "", extra: dict | None = None) -> ChatView:
        s = conv.session
        progress = None
        if s.mode == "quiz":
            try:
                progress = s.progress()
            except TutorError:
                progress = None
        messages = list(conv.messages) + ([extra] if extra else [])
        return ChatView(messages, list(conv.sources), s.mode, s.doc_id, progress, draft, conv.turns())

    def _busy_view(self, sid: str, view: str, message: str) -> ChatView:
        try:
            conv = self._conversation(sid, view)
        except TutorError as exc:
            return ChatView([_note(exc)], [], "explain", None, draft=message)
        return self._view(conv, draft=message, extra=render.notice_message(BUSY))

    def _error_view(self, sid: str, view: str, exc: Exception) -> ChatView:
        note = _note(exc)
        try:
            conv = self._conversation(sid, view)
        except TutorError:
            return ChatView([note], [], "explain", None)
        return self._view(conv, extra=note)


def _note(exc: Exception) -> dict:
    """An error as a note in the chat: its message as one sentence."""
    return render.notice_message(render.sentence(str(exc)))
