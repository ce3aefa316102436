"""RunningHub's answers as typed objects, parsed once: the only module that knows the wire's field names.

``api`` hands each answer's JSON here (after unwrapping its response family and raising for error
codes); everything past this module reads attributes — ``TaskStatus.cost`` (a :class:`Money`), never
``usage.consumeMoney``. Field meanings and their confidence are in ``docs/runninghub-api.md``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from . import error_codes, facts
from ..core.money import CURRENCIES, Money, parse as parse_money
from ..core.redaction import redact


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    status: str
    error_code: str = ""
    error_message: str = ""
    results: list = field(default_factory=list)
    cost: Money | None = None  # what RunningHub charged (see :func:`charge`); None until it says
    failed_reason: Any = None
    # ``usage.taskCostTime``: seconds the task took [S: "58" for a ~60 s run; string or null]. Whether it
    # counts the queue too is not documented [U]: read only as a span inside the task's life.
    cost_time_s: float | None = None

    @property
    def video_url(self) -> str:
        """The MP4 result, told apart by ``outputType`` (else the URL's extension), never by position
        [U]; a result of an unknown type still beats none, as long as it is not an image."""
        urls = [(_type_of(r), _url_of(r)) for r in self.results]
        return (next((u for t, u in urls if u and t in VIDEO_TYPES), "")
                or next((u for t, u in urls if u and t not in IMAGE_TYPES), ""))

    @property
    def image_url(self) -> str:
        """The last-frame image result (asked for with ``returnLastFrame``), or ""."""
        return next((_url_of(r) for r in self.results if _url_of(r) and _type_of(r) in IMAGE_TYPES), "")

    @property
    def is_pending(self) -> bool:
        return self.status in facts.PENDING_STATES

    def failure_text(self) -> str:
        """Server message plus the most useful part of ``failedReason`` (object or string)."""
        reason = self.failed_reason
        if isinstance(reason, dict):
            reason = reason.get("exception_message") or reason.get("message") or ""
        parts = list(dict.fromkeys(p for p in (self.error_message, str(reason or "")) if p))  # once if they agree
        return redact(" — ".join(parts))[:500]


@dataclass(frozen=True)
class QueueStatus:
    api_key_type: str
    concurrent_limit: int
    running: int
    queued: int


@dataclass(frozen=True)
class AccountStatus:
    balance: Money | None  # ``remainMoney``; None when the answer has none
    remain_coins: str
    api_type: str


@dataclass(frozen=True)
class PricePreview:
    price: Money | None  # ``estimatedPrice``; None when the preview gave no number
    price_text: str


@dataclass(frozen=True)
class Asset:
    """One asset of the assets API (a reference converted for real-person handling)."""
    asset_id: str
    status: str  # PROCESSING, ACTIVE, FAILED (others [U]: treated as still processing)
    preview_url: str = ""
    asset_type: str = ""
    name: str = ""
    reason: str = ""  # why it failed, when the answer says

    @property
    def reference(self) -> str:
        """What a model's URL field takes in place of the URL."""
        return facts.ASSET_SCHEME + self.asset_id


VIDEO_TYPES = frozenset({"mp4", "mov", "webm", "video"})
IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "webp", "image"})


def _url_of(item: Any) -> str:
    return str(item.get("url") or item.get("outputUrl") or "") if isinstance(item, dict) else ""


def _type_of(item: Any) -> str:
    """A result's ``outputType``, else its URL's extension."""
    kind = str(item.get("outputType") or "").lower() if isinstance(item, dict) else ""
    return kind or _url_of(item).split("?")[0].rsplit(".", 1)[-1].lower()


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def task_status(data: dict, currency: str, task_id: str = "") -> TaskStatus:
    """A family-A task answer (submit, query): error code normalised ("" = none), message redacted,
    the charge as money in ``currency`` (the site's: the answer does not name it)."""
    error_code = data.get("errorCode")
    error_code = "" if error_code in (None, "", 0, "0") else str(error_code)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    results = data.get("results") if isinstance(data.get("results"), list) else []
    return TaskStatus(task_id=str(data.get("taskId") or task_id), status=str(data.get("status") or "").upper(),
                      error_code=error_code, error_message=redact(str(data.get("errorMessage") or "")),
                      results=results, cost=charge(usage, currency), failed_reason=data.get("failedReason"),
                      cost_time_s=seconds(usage.get("taskCostTime")))


def seconds(value: Any) -> float | None:
    """A span of seconds given as text ("58") or a number; None when absent or not a finite, non-negative
    number (the journal keeps its spans by the same rule)."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


@dataclass(frozen=True)
class SubmitAnswer:
    """What a submit answer proves, one of three (error_codes.NO_TASK_CODES):

    a task was made (``status``), no task was made (``no_task_code``, with RunningHub's
    ``message``), or *unknown* (``unknown``: why the answer proves neither, in a few words)."""
    status: TaskStatus | None = None
    no_task_code: str = ""
    message: str = ""
    unknown: str = ""


def submit_answer(data: Any, currency: str) -> SubmitAnswer:
    """Read a submit answer (the decoded JSON) strictly: only a well-formed task id proves a task
    (whatever else the answer says: a FAILED task with its id is still a task), only a v2 rejection
    with a code that means "rejected before creation" proves none; everything else is unknown."""
    if not isinstance(data, dict):
        return SubmitAnswer(unknown=f"the answer was a JSON {_json_kind(data)}, not a task answer")
    task_id = data.get("taskId")
    if isinstance(task_id, str) and re.fullmatch(facts.TASK_ID_PATTERN, task_id):
        return SubmitAnswer(status=task_status(data, currency))
    if isinstance(task_id, (int, float)) and not isinstance(task_id, bool):
        return SubmitAnswer(unknown=f"the answer gave the task id as a number ({_shown(task_id)}) instead of text, "
                                    "so its digits may have been rounded on the way")
    if task_id not in (None, ""):
        return SubmitAnswer(unknown=f"the answer's task id {_shown(task_id)} is not a RunningHub task id "
                                    "(a run of digits)")
    if "errorCode" not in data:
        code = data.get("code", data.get("status", ""))
        return SubmitAnswer(unknown=f"the answer was not a task answer (code {_shown(code)})")
    code = str(data.get("errorCode") if data.get("errorCode") not in (None, 0) else "")
    message = redact(str(data.get("errorMessage") or ""))
    if code in error_codes.NO_TASK_CODES and task_id == "" and data.get("status") == "":
        return SubmitAnswer(no_task_code=code, message=message)
    if code:
        return SubmitAnswer(unknown=f"RunningHub answered error {redact(code[:40])}, which does not prove that no task "
                                    f"was made{f' ({message[:120]})' if message else ''}")
    return SubmitAnswer(unknown="the answer had no task id")


def _json_kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "true/false", type(None): "null"}.get(type(value), "number")


def _shown(value: Any) -> str:
    """A value from an answer, short and safe to show."""
    text = redact(repr(value) if isinstance(value, str) else str(value))
    return text if len(text) <= 40 else f"{text[:24]}… ({len(text)} characters)"


def charge(usage: dict, currency: str) -> Money | None:
    """The charge in a task's ``usage``: model spend may come in ``thirdPartyConsumeMoney`` with
    ``consumeMoney`` empty, or the other way round (both strings or null) [S]; when both are
    positive they are added. None while neither holds an amount."""
    amounts = [parse_money(usage.get(name), currency) for name in ("thirdPartyConsumeMoney", "consumeMoney")]
    amounts = [m for m in amounts if m is not None]
    charged = [m for m in amounts if m]
    if charged:
        return sum(charged[1:], charged[0])
    return amounts[0] if amounts else None


def upload_url(data: Any) -> str:
    """The ``download_url`` of an upload answer's ``data`` ("" when missing)."""
    return str((data or {}).get("download_url") or "") if isinstance(data, dict) else ""


def asset(data: Any, asset_id: str = "") -> Asset:
    """An ``assets/create`` or ``assets/query`` answer's ``data``. Only ``assetId`` and ``status`` are
    relied on; the failure reason's field is not documented [U], so the likely names are read."""
    data = data if isinstance(data, dict) else {}
    reason = next((str(data[k]) for k in ("failReason", "failedReason", "errorMessage", "message", "reason")
                   if data.get(k)), "")
    return Asset(asset_id=str(data.get("assetId") or data.get("id") or asset_id),
                 status=str(data.get("status") or "").upper(), preview_url=str(data.get("previewUrl") or ""),
                 asset_type=str(data.get("assetType") or ""), name=str(data.get("name") or ""),
                 reason=redact(reason)[:300])


def asset_list(data: Any) -> list[Asset]:
    """The assets of an ``assets/list`` page (its list field's name is not documented [U])."""
    if isinstance(data, dict):
        data = next((data[k] for k in ("records", "list", "items", "assets", "data") if isinstance(data.get(k), list)),
                    [])
    return [asset(item) for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def queue_status(data: Any) -> QueueStatus:
    data = data if isinstance(data, dict) else {}
    return QueueStatus(api_key_type=str(data.get("apiKeyType") or ""),
                       concurrent_limit=max(1, _int(data.get("concurrentLimit"), 1)),
                       running=_int(data.get("runningCount")), queued=_int(data.get("queuedCount")))


def account_status(data: Any, currency: str) -> AccountStatus:
    """``currency``: the site's, used when the answer names none this pack knows."""
    data = data if isinstance(data, dict) else {}
    return AccountStatus(balance=parse_money(data.get("remainMoney"), _currency(data, currency)),
                         remain_coins=str(data.get("remainCoins") or ""), api_type=str(data.get("apiType") or ""))


def price_preview(data: dict, currency: str) -> PricePreview:
    """``currency``: the site's, used when the answer names none this pack knows."""
    return PricePreview(price=parse_money(data.get("estimatedPrice"), _currency(data, currency)),
                        price_text=str(data.get("priceText") or ""))


def _currency(data: dict, fallback: str) -> str:
    named = str(data.get("currency") or "").upper()
    return named if named in CURRENCIES else fallback
