"""Typed exceptions. Library code raises these; the CLI and the web UI turn them
into one-line messages. Every message is a complete sentence a user can act on."""


class TutorError(Exception):
    """Base class for every error the tutor reports to a user."""


class ConfigError(TutorError):
    """A setting (flag, environment variable) has an unusable value."""


class InputFileError(TutorError):
    """A corpus file cannot be loaded: missing, empty, binary, undecodable, unsupported."""


class QuestionBankError(TutorError):
    """A question bank is malformed or quotes text the article does not contain."""


class IndexMissingError(TutorError):
    """No index has been built yet."""


class IndexBrokenError(TutorError):
    """The index exists but cannot be read."""


class ModelMismatchError(TutorError):
    """The index was built with a different embedding model than the one configured."""


class EmbedderError(TutorError):
    """The embedding model cannot be loaded."""


class LLMError(TutorError):
    """The configured LLM is unreachable, too slow or returned an error."""


class PromptError(TutorError):
    """A prompt template is missing or was rendered without a required variable."""


class DatasetError(TutorError):
    """An eval dataset or claim set is malformed."""


class MessageError(TutorError):
    """A learner's message was rejected (too long, empty)."""


class StoreError(TutorError):
    """The session and feedback store cannot be used (bad URL, schema too new)."""


class StoreUnavailableError(StoreError):
    """The store's database cannot be reached right now; nothing was written.

    `str()` is the short message for the learner; `detail` is the driver's
    reason and `where` the (password-free) database URL, for the operator."""

    def __init__(self, message: str, detail: str = "", where: str = ""):
        super().__init__(message)
        self.detail = detail
        self.where = where


class IngestBusyError(TutorError):
    """Another ingest holds the home's writer lock."""


class UnknownArticleError(TutorError):
    """A doc_id that the index does not hold."""
