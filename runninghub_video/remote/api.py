"""RunningHub OpenAPI v2 calls: one method per endpoint, each answer checked and typed.

The three response families (see facts / shared notes) are unwrapped here, so callers only see
dataclasses or typed errors from :mod:`runninghub_video.core.errors`.
"""
from __future__ import annotations

import io
import random
from typing import Any

from . import error_codes, facts, wire
from .config import Settings
from ..core.redaction import redact
from ..core.errors import (AmbiguousSubmitError, ApiError, RunningHubError, ServiceError,
                     TransportError)
from ..core.events import CancelCheck, check_cancel, run_interruptibly, sleep_interruptibly
from .http import POLICIES, cancel_scope, check_key_transport, describe_failure, make_session, request_never_left
from .wire import AccountStatus, Asset, PricePreview, QueueStatus, TaskStatus


class _CancellableBody(io.BytesIO):
    """Request body that checks Cancel between the chunks http.client sends."""

    def __init__(self, data: bytes, should_cancel: CancelCheck | None) -> None:
        super().__init__(data)
        self._should_cancel = should_cancel

    def read(self, size: int | None = -1) -> bytes:
        check_cancel(self._should_cancel)
        return super().read(size)


class RunningHubClient:
    """One site, one key, two sessions (idempotent calls and submits)."""

    def __init__(self, settings: Settings) -> None:
        check_key_transport(settings.base_url)
        self.settings = settings
        self._sessions: dict = {}  # kind of call -> its session (retry rules differ, see http.POLICIES)

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()

    def session_for(self, kind: str):
        """The session of one kind of call ("query", "status", "upload", "download", "submit")."""
        if kind not in self._sessions:
            self._sessions[kind] = make_session(kind)
        return self._sessions[kind]

    @property
    def session(self):
        """The download session (result videos and images)."""
        return self.session_for("download")

    def __enter__(self) -> RunningHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints -----------------------------------------------------------------------
    def upload(self, data: bytes, filename: str, content_type: str,
               should_cancel: CancelCheck | None = None, max_bytes: int = facts.MAX_UPLOAD_BYTES) -> str:
        """Upload one reference (image, video or audio); returns its ``download_url`` (valid about a
        day). ``max_bytes``: the limit of this kind of reference (models.py)."""
        from urllib3 import encode_multipart_formdata

        if len(data) > max_bytes:
            raise self._error("1008", context=f"{filename}: ")
        body, multipart_type = encode_multipart_formdata({"file": (filename, data, content_type)})
        payload = self._family_b(self._call(
            "POST", facts.UPLOAD_PATH, "upload", should_cancel,
            data=_CancellableBody(body, should_cancel),
            headers={"Content-Type": multipart_type, "Content-Length": str(len(body))}), "upload")
        url = wire.upload_url(payload)
        if not url:
            raise ServiceError("The upload answer had no download_url.", advice="Try again; report it if it repeats.")
        return url

    def submit(self, body: dict, should_cancel: CancelCheck | None = None, *, path: str) -> TaskStatus:
        """Create a task of the model at ``path`` (``Endpoint.submit_path``).

        Every answer is one of three (:func:`wire.submit_answer`): a task (returned), no task (the
        typed error of its code; re-sent on its own only for ``error_codes.RESUBMIT_CODES``), or
        unknown, which raises :class:`AmbiguousSubmitError` and is never re-sent. A
        :class:`TransportError` means the request never left. No other error leaves here while a
        task may exist."""
        policy = POLICIES["submit"]
        for attempt in range(1, policy.attempts + 1):
            try:
                response = self.session_for("submit").post(
                    self._url(path), json=body, headers=self._headers(),
                    timeout=policy.timeout)
            except Exception as exc:  # requests' errors, classified below
                if isinstance(exc, RunningHubError):
                    raise
                if request_never_left(exc):
                    raise TransportError(f"Could not reach {self.settings.base_url}: {describe_failure(exc)}.",
                                         advice="Nothing was sent or charged. Check the network and the site, "
                                                "then queue again.") from None
                cause = f"the submit was sent to {self.settings.base_url} but {describe_failure(exc)}"
                raise AmbiguousSubmitError(f"The submit got no answer: {cause}.", cause=cause) from None
            answer = self._submit_answer(response)
            if answer.status is not None:
                return answer.status
            if answer.unknown:
                cause = f"the submit got an answer from {self.settings.base_url} that proves nothing: {answer.unknown}"
                raise AmbiguousSubmitError(f"The submit got no usable answer: {cause}.", cause=cause)
            code = answer.no_task_code
            if code not in error_codes.RESUBMIT_CODES or attempt == policy.attempts:
                raise self._error(code, answer.message, context="Submit rejected (nothing charged): ")
            delay = _retry_after(response) or policy.pause(attempt)
            sleep_interruptibly(delay * random.uniform(0.8, 1.2), should_cancel)
        raise AssertionError("unreachable")

    def _submit_answer(self, response) -> wire.SubmitAnswer:
        """A submit's HTTP answer read as one of three (see :meth:`submit`)."""
        if response.status_code >= 500:
            return wire.SubmitAnswer(unknown=f"HTTP {response.status_code}, which does not tell whether the task "
                                             "was created")
        try:
            data = response.json()
        except ValueError:
            text = response.text.strip()
            what = f"not JSON ({_body_text(response)[:60]!r})" if text else "empty"
            return wire.SubmitAnswer(unknown=f"HTTP {response.status_code} with an answer that is {what}")
        answer = wire.submit_answer(data, self.settings.currency)
        if answer.unknown and response.status_code != 200:
            return wire.SubmitAnswer(unknown=f"HTTP {response.status_code}: {answer.unknown}")
        return answer

    def query(self, task_id: str, should_cancel: CancelCheck | None = None) -> TaskStatus:
        status = self._task_status(self._call("POST", facts.QUERY_PATH, "query", should_cancel,
                                              json={"taskId": task_id}), "query", task_id)
        if status.error_code and not status.status:
            raise self._error(status.error_code, status.error_message, task_id=task_id)
        return status

    def queue_status(self) -> QueueStatus:
        return wire.queue_status(self._family_b(self._call("GET", facts.QUEUE_STATUS_PATH, "status"), "queue status"))

    def account_status(self) -> AccountStatus:
        return wire.account_status(self._family_b(self._call("POST", facts.ACCOUNT_STATUS_PATH, "status",
                                                             json={"apikey": self.settings.api_key}), "account status"),
                                   self.settings.currency)

    def price_preview(self, body: dict, *, path: str) -> PricePreview:
        data = self._json(self._call("POST", path, "status", json=body), "price preview")
        code = str(data.get("errorCode") if data.get("errorCode") is not None else "")
        if code not in ("", "0"):
            raise self._error(code, str(data.get("errorMessage") or ""), context="Price preview: ")
        return wire.price_preview(data, self.settings.currency)

    # --- assets (real-person handling) ----------------------------------------------------
    def create_asset(self, url: str, kind: str, name: str, should_cancel: CancelCheck | None = None) -> Asset:
        """Start converting an uploaded reference into an asset (PROCESSING until ACTIVE). Whether it
        costs anything is unknown [U], so it goes out as a submit does: re-sent only if it never left.
        The caller keeps the id before waiting; a lost answer is looked for by ``name`` (assets/list)."""
        data = self._family_b(self._call("POST", facts.ASSET_CREATE_PATH, "submit", should_cancel, json={
            "groupId": facts.ASSET_GROUP_ID, "url": url, "assetType": facts.ASSET_TYPES[kind], "name": name}),
            "asset create")
        found = wire.asset(data)
        if not found.asset_id:
            raise ServiceError("The asset answer had no assetId.", advice="Try again; report it if it repeats.")
        return found

    def query_asset(self, asset_id: str, should_cancel: CancelCheck | None = None) -> Asset:
        return wire.asset(self._family_b(self._call("POST", facts.ASSET_QUERY_PATH, "query", should_cancel,
                                                    json={"assetId": asset_id}), "asset query"), asset_id)

    def list_assets(self, page: int = 1, page_size: int = 50) -> list[Asset]:
        return wire.asset_list(self._family_b(self._call("POST", facts.ASSET_LIST_PATH, "status", json={
            "pageNumber": page, "pageSize": page_size}), "asset list"))

    def delete_asset(self, asset_id: str) -> None:
        self._family_b(self._call("POST", facts.ASSET_DELETE_PATH, "status", json={"assetId": asset_id}),
                       "asset delete")

    def download(self, url: str, *, folder, task_id: str, should_cancel: CancelCheck | None = None,
                 on_progress=None, max_bytes: int | None = None, deadline: float | None = None):
        """Save a result video into ``folder`` (see :func:`download.download_result`)."""
        from .download import DEFAULT_MAX_BYTES, download_result

        return download_result(self.session, url, folder=folder, task_id=task_id, should_cancel=should_cancel,
                               on_progress=on_progress, max_bytes=max_bytes or DEFAULT_MAX_BYTES,
                               deadline=deadline)

    # --- plumbing ------------------------------------------------------------------------
    def _error(self, code: str, server_message: str = "", **kw) -> ApiError:
        """The typed error for ``code`` (a rejected key's advice names this site and the other)."""
        return error_codes.error_for_code(code, server_message, site=self.settings.site, **kw)

    def _url(self, path: str) -> str:
        return self.settings.base_url + path

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.settings.api_key}"}

    def _call(self, method: str, path: str, kind: str, should_cancel: CancelCheck | None = None, **kw):
        headers = {**self._headers(), **kw.pop("headers", {})}
        check_cancel(should_cancel)
        def call():
            with cancel_scope(should_cancel):
                return self.session_for(kind).request(method, self._url(path), headers=headers,
                                                      timeout=POLICIES[kind].timeout, **kw)

        try:
            return run_interruptibly(call, should_cancel)
        except RunningHubError:
            raise
        except Exception as exc:
            raise TransportError(f"{kind.capitalize()} call to {self.settings.base_url} failed: "
                                 f"{describe_failure(exc)}.",
                                 advice="Check the network; a running task is not affected.") from None

    def _json(self, response, what: str) -> dict:
        if response.status_code == 401:
            raise self._error("401", _body_text(response), context=f"{what.capitalize()}: ")
        if response.status_code in (404, 405):
            raise self._error("1001", _body_text(response), context=f"{what.capitalize()}: ")
        if response.status_code == 413:
            raise self._error("1008", "", context=f"{what.capitalize()}: ")
        if response.status_code == 429:
            raise self._error("1003", _body_text(response), context=f"{what.capitalize()}: ")
        if response.status_code >= 400:
            raise ServiceError(f"{what.capitalize()}: HTTP {response.status_code} from {self.settings.base_url}.",
                               server_message=_body_text(response), advice="Try again later.")
        try:
            data = response.json()
        except ValueError:
            raise ServiceError(f"{what.capitalize()}: the answer was not JSON.", server_message=_body_text(response),
                               advice="Check RUNNINGHUB_BASE_URL / the site; a proxy may be in the way.") from None
        if not isinstance(data, dict):
            raise ServiceError(f"{what.capitalize()}: unexpected answer shape.", server_message=_body_text(response))
        return data

    def _family_b(self, response, what: str) -> Any:
        data = self._json(response, what)
        code = data.get("code")
        if code in (0, "0"):
            return data.get("data")
        raise self._error(str(code), str(data.get("message") or data.get("msg") or ""),
                             context=f"{what.capitalize()}: ")

    def _task_status(self, response, what: str, task_id: str = "") -> TaskStatus:
        data = self._json(response, what)
        if "code" in data and "errorCode" not in data:  # a family-B/C error reply on a family-A endpoint
            code = str(data.get("code"))
            if code not in ("0", ""):
                raise self._error(code, str(data.get("message") or data.get("msg") or ""), task_id=task_id,
                                     context=f"{what.capitalize()}: ")
        return wire.task_status(data, self.settings.currency, task_id)


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _body_text(response) -> str:
    try:
        data = response.json()
        if isinstance(data, dict):
            return str(data.get("message") or data.get("msg") or data.get("errorMessage") or "")[:300]
    except ValueError:
        pass
    return redact(response.text[:200])

