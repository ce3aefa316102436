"""Typed errors a user can act on.

Each carries the server's message (if any) plus our advice, and never the API key: messages
pass through :func:`runninghub_video.core.redaction.redact` before they are stored.
"""
from __future__ import annotations

from .redaction import redact


class RunningHubError(Exception):
    """Base of every error the pack raises on purpose.

    ``code``: RunningHub's error code, or one of the pack's own ("budget_file", "prompt_empty"); with
    ``details`` (the figures and names in the message) it lets words/wording.py say the error in
    the user's language, while the message itself stays English (logs, CLI)."""

    code: str = ""
    advice: str = ""

    def __init__(self, message: str, *, code: str = "", advice: str = "", task_id: str = "",
                 server_message: str = "", details: dict | None = None) -> None:
        self.code = code or self.code
        self.advice = advice or self.advice
        self.task_id = task_id
        self.details = dict(details or {})
        self.server_message = redact(server_message)
        parts = [redact(message)]
        if self.server_message and self.server_message not in parts[0]:
            parts.append(f"RunningHub said: {self.server_message}")
        if self.advice:
            parts.append(self.advice)
        super().__init__(" ".join(p.rstrip() for p in parts if p))


class ConfigError(RunningHubError):
    """Missing key, unknown site, unwritable output folder: fix the set-up."""


class ResourceError(RunningHubError, MemoryError):
    """Not enough memory on this machine for what was asked; the message says what would fit."""


class ValidationError(RunningHubError, ValueError):
    """Bad input, found before any network call (nothing was charged)."""


class ApiError(RunningHubError):
    """RunningHub answered with an error code (remote/error_codes.py: the class, meaning and words of each)."""


class AuthError(ApiError):
    """The key was refused (the settings panel says so; the other site is named)."""


class KeyTypeError(ApiError):
    """The key is of a type that cannot run this model (Enterprise-Shared needed)."""


class RateLimitError(ApiError):
    """Too many requests or tasks at once: waited out and retried."""


class TaskNotFoundError(ApiError):
    """No such task on this site, or it expired (the journal marks it so). With the code
    :data:`NOT_FOUND_YET`: a task made (its submit answered with its id) that no query has found yet;
    it stays its request's task, and its journal row keeps the code until a query finds it."""

    NOT_FOUND_YET = "task_not_found_yet"


class ServiceError(ApiError):
    """A temporary problem on RunningHub's side (or an undocumented code): retried while waiting."""


class TaskFailedError(ApiError):
    """The task was created (and may have been charged) but did not produce a video.

    ``cost``: what RunningHub's last answer reported as charged for it (None: it reported nothing)."""

    cost = None


class RealPersonError(TaskFailedError):
    """1505 on a model that takes real-person handling, sent without it: the way out is the option.

    ``references``: the references RunningHub named ("image 2", "video 1"), when it named any."""

    def __init__(self, message: str, *, references: tuple[str, ...] = (), cost=None, **kw) -> None:
        super().__init__(message, **kw)
        self.references = references
        self.cost = cost


class TransportError(RunningHubError):
    """The network failed after retries (no answer, or an unusable one)."""


class AmbiguousSubmitError(TransportError):
    """The submit may have reached RunningHub but no answer came back: never re-sent.

    ``cause``: what happened on the wire ("HTTP 502 from …", "connection reset", "no answer in 60 s");
    ``submitted_at``: when it was sent (epoch seconds), so a person can find the task by its time."""

    def __init__(self, message: str, *, cause: str = "", submitted_at: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.cause = redact(cause or message)
        self.submitted_at = submitted_at


class DownloadError(TransportError):
    """The result could not be downloaded (the task id stays valid for 24 hours)."""


class WaitTimeoutError(RunningHubError):
    """Our own wait limit passed; the task keeps running on RunningHub."""


class Interrupted(RunningHubError):
    """The user cancelled; the task (if any) keeps running on RunningHub."""

