"""The one place that decides what is retried, how often and how long: :data:`POLICIES`, per kind of call.

- ``query``, ``status``, ``upload``, ``download`` are safe to repeat: urllib3's ``Retry`` retries
  connection errors, broken answers, 408, 429 and 5xx with exponential back-off and honours
  ``Retry-After`` (at most :data:`RETRY_AFTER_MAX_S`). ``download`` also has ``attempts``: the
  download loop resumes a broken body with ``Range`` that many times.
- ``submit`` costs money: urllib3 retries only failures to *connect* (the request provably never
  left); ``attempts`` bounds the client's own re-sends after RunningHub said no task was made
  (``error_codes.RESUBMIT_CODES``), paced by ``backoff_s`` or ``Retry-After``. Anything else
  unanswered is never re-sent (see :class:`errors.AmbiguousSubmitError`).
- Waiting for a task tolerates failing queries for ``query_failure_grace_s`` (core/waits.py) on top of
  the ``query`` policy (the task keeps running meanwhile).

Back-off sleeps wake for the user's Cancel: :class:`_CancellableRetry` overrides only
``Retry.sleep``, urllib3's public hook, and reads the delay through its public
``get_retry_after``/``get_backoff_time`` (``tests/test_client.py`` checks urllib3 still calls it).
"""
from __future__ import annotations

import ipaddress
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

from ..core.events import CancelCheck, sleep_interruptibly
from ..core.waits import current as current_waits

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_AFTER_MAX_S = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """How one kind of call is retried. Counts are retries after the first try."""
    timeout: tuple[float, float]  # (connect, read) seconds per try
    connect: int  # connection failures: the request never left
    read: int = 0  # the answer broke off or timed out (idempotent calls only)
    status: int = 0  # answers with one of RETRY_STATUSES (idempotent calls only)
    backoff_s: float = 0.5  # first pause; doubles each retry …
    backoff_max_s: float = 8.0  # … up to this
    attempts: int = 1  # tries of the caller's own loop above urllib3 (submit: re-sends; download: resumes)

    def pause(self, retry: int) -> float:
        """The back-off before the ``retry``-th retry (1, 2, …) of the caller's own loop."""
        return min(self.backoff_max_s, self.backoff_s * 2 ** (retry - 1)) * current_waits().retry_pause_scale


_REPEATABLE = dict(connect=4, read=3, status=5, backoff_s=0.5, backoff_max_s=8.0)
POLICIES: dict[str, RetryPolicy] = {
    "query": RetryPolicy(timeout=(5.0, 20.0), **_REPEATABLE),
    "status": RetryPolicy(timeout=(5.0, 20.0), **_REPEATABLE),
    "upload": RetryPolicy(timeout=(5.0, 120.0), **_REPEATABLE),
    "download": RetryPolicy(timeout=(5.0, 30.0), **_REPEATABLE, attempts=5),
    "submit": RetryPolicy(timeout=(10.0, 60.0), connect=3, backoff_s=2.0, backoff_max_s=30.0, attempts=6),
}

_local = threading.local()


@contextmanager
def cancel_scope(should_cancel: CancelCheck | None) -> Iterator[None]:
    """Let urllib3's retry back-off (which runs inside ``session.request``) see the user's Cancel."""
    previous = getattr(_local, "should_cancel", None)
    _local.should_cancel = should_cancel
    try:
        yield
    finally:
        _local.should_cancel = previous


def _retry_class():
    from urllib3.util.retry import Retry

    class _CancellableRetry(Retry):
        """Retry whose pauses wake for Cancel and never wait longer than RETRY_AFTER_MAX_S."""

        def sleep(self, response=None) -> None:  # urllib3's public hook between two tries
            retry_after = self.get_retry_after(response) if response is not None else None
            if self.respect_retry_after_header and retry_after:
                pause = min(retry_after, RETRY_AFTER_MAX_S)
            else:
                pause = self.get_backoff_time() * current_waits().retry_pause_scale
            sleep_interruptibly(pause, getattr(_local, "should_cancel", None))

    return _CancellableRetry


def make_session(kind: str = "query"):
    """A ``requests.Session`` that retries as :data:`POLICIES` says for ``kind``."""
    import requests
    from requests.adapters import HTTPAdapter

    policy = POLICIES[kind]
    retry = _retry_class()(
        total=policy.connect + policy.read + policy.status, connect=policy.connect, read=policy.read,
        status=policy.status, other=policy.read, redirect=0,
        allowed_methods=None,  # query/upload are POSTs, safe to repeat; submit retries connects only
        status_forcelist=RETRY_STATUSES if policy.status else (), backoff_factor=policy.backoff_s,
        backoff_max=policy.backoff_max_s, respect_retry_after_header=True, raise_on_status=False)
    session = requests.Session()
    session.trust_env = True  # honour HTTPS_PROXY etc. like a browser would
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=8)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "runninghub-video-comfyui"
    return session


def request_never_left(exc: BaseException) -> bool:
    """True when a requests error proves the request was not sent (DNS, refused, connect timeout)."""
    import requests
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (NewConnectionError, NameResolutionError, ConnectionRefusedError)):
            return True
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            cur = reason
            continue
        nested = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None
        cur = nested or cur.__cause__ or cur.__context__
    return False


def is_loopback_host(host: str | None) -> bool:
    """localhost or a loopback address: traffic that never leaves this machine (the emulator)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_safe_url(url: str) -> bool:
    """https anywhere, plain http only to this machine."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname) or parts.scheme == "http" and is_loopback_host(parts.hostname)


def check_key_transport(base_url: str) -> None:
    """The key travels in a header: never over plain http to another machine (anyone on the path could read it)."""
    if not is_safe_url(base_url):
        from ..core.errors import ConfigError

        parts = urlsplit(base_url)
        raise ConfigError(f"Refusing to send the API key to {parts.scheme}://{parts.hostname or '?'}: only https "
                          "addresses (or http on this machine, for the emulator) may receive it.",
                          advice="Fix RUNNINGHUB_BASE_URL (use https); nothing was sent.")


def describe_failure(exc: BaseException) -> str:
    """The real cause of a requests/urllib3 failure in a few words ("connection reset by the server",
    "no answer within 60 s", "HTTP 502 after 5 tries") instead of "Max retries exceeded with url…"."""
    import requests
    from urllib3.exceptions import (ConnectTimeoutError, NameResolutionError, NewConnectionError, ProtocolError,
                                    ReadTimeoutError, ResponseError, SSLError)

    chain = _causes(exc)
    for cur in chain:
        if isinstance(cur, ResponseError):  # urllib3: "too many 502 error responses"
            text = str(cur)
            code = next((w for w in text.split() if w.isdigit() and len(w) == 3), "")
            return f"HTTP {code} on every try" if code else text
        if isinstance(cur, NameResolutionError):
            return "the host name could not be resolved (DNS)"
        if isinstance(cur, (requests.exceptions.SSLError, SSLError)):
            return "the TLS (https) handshake failed"
        if isinstance(cur, ConnectionRefusedError) or isinstance(cur, NewConnectionError) and "refused" in str(cur):
            return "the connection was refused"
        if isinstance(cur, (ConnectTimeoutError, requests.exceptions.ConnectTimeout)) and "timed out" in str(cur):
            return "the connection could not be opened in time (connect timeout)"
        if isinstance(cur, (ReadTimeoutError, requests.exceptions.ReadTimeout, TimeoutError)):
            return "no answer came within the read timeout"
        if isinstance(cur, ConnectionResetError):
            return "the connection was reset by the server"
        if type(cur).__name__ == "RemoteDisconnected":
            return "the server closed the connection without answering"
        if isinstance(cur, NewConnectionError):
            return "the connection could not be opened"
    for cur in chain:
        if isinstance(cur, ProtocolError):
            return "the connection broke off mid-answer"
    from ..core.redaction import redact

    return redact(f"{type(exc).__name__}")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (``reason``, ``args[0]``, ``__cause__``, ``__context__``), outermost first."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop(0)
        if id(cur) in {id(x) for x in out}:
            continue
        out.append(cur)
        for nxt in (getattr(cur, "reason", None), cur.args[0] if cur.args else None, cur.__cause__, cur.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return out
