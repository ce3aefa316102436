"""The task inbox: every journaled task as plain data, a page at a time, plus money spent.

Read-only over the journal (the ComfyUI sidebar tab, its routes and the CLI's ``list`` all show
these views). A view says what a user needs to find a paid result again: state, model, prompt
excerpt, options, times, cost and currency, site, the saved file, whether the tab can recover it
without paying again, and where to look the task up on RunningHub's site.

Totals are summed from the costs RunningHub reported (``usage``) and the journal recorded, per
site and currency, over the local calendar day and month; a task journaled twice (a fetch of a
task made elsewhere) counts once.
"""
from __future__ import annotations

import functools
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ..remote import facts
from .journal import ABANDONED, AMBIGUOUS, DOWNLOADED, EXPIRED, REJECTED, SUBMITTING, UPLOADING, Journal, read_cost
from ..remote.models import MODELS, V1_LITE
from ..core.money import Money

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PROMPT_EXCERPT = 160
# facts.RESULT_URL_LIFETIME_S after its submit a task can no longer be fetched [C: results live 24 h]
_FAILED = facts.TERMINAL_FAILURE_STATES | {REJECTED, ABANDONED}  # ours: refused or never sent, no charge
STALE_SUBMIT_S = 900.0  # a submit, with all its retries and timeouts, answers well within this
# every model's option fields (models.py), in the order a user reads them
_OPTION_KEYS = tuple(dict.fromkeys(o.wire for m in MODELS.values() for o in m.options))

T = TypeVar("T")
_followed: dict[str, int] = {}  # task id -> how many waits of this process follow it
_followed_lock = threading.Lock()


@contextmanager
def following(task_id: str) -> Iterator[None]:
    """Mark a task as waited on by this process (the tab then offers no second recovery of it)."""
    with _followed_lock:
        _followed[task_id] = _followed.get(task_id, 0) + 1
    try:
        yield
    finally:
        with _followed_lock:
            _followed[task_id] -= 1
            if not _followed[task_id]:
                del _followed[task_id]


def follows(wait: Callable[..., T]) -> Callable[..., T]:
    """Decorates ``wait(run, journal, task_id, ...)``: the task is followed while it runs."""
    @functools.wraps(wait)
    def waiting(run: Any, journal: Any, task_id: str, *args: Any, **kwargs: Any) -> T:
        with following(task_id):
            return wait(run, journal, task_id, *args, **kwargs)
    return waiting


def is_followed(task_id: str | None) -> bool:
    with _followed_lock:
        return bool(task_id) and task_id in _followed


def lookup_url(site: str, task_id: str | None) -> str:
    """Where a person finds the task on RunningHub: its call-record page, or the site's call records."""
    base = facts.SITES.get(site, facts.SITES[facts.DEFAULT_SITE])
    return f"{base}{facts.CALL_RECORD_DETAIL_PATH}{task_id}" if task_id else base


def phase(state: str, has_video: bool, task_id: str | None, age_s: float = 0.0) -> str:
    """The inbox's coarse grouping of a journal state: saved, pending, ready, failed, ambiguous,
    expired, submitting or unknown (a state RunningHub added that this pack does not know).

    A row left ``submitting`` without a task id for longer than a submit can take was cut off
    mid-submit (a crash or kill): it may have been paid, so it counts as ambiguous."""
    if has_video:
        return "saved"
    if state in facts.PENDING_STATES:
        return "pending"
    if state in (facts.SUCCESS_STATE, DOWNLOADED):
        return "ready"  # finished on RunningHub, file not on disk (never downloaded, or deleted)
    if state in _FAILED:
        return "failed"
    if state == AMBIGUOUS:
        return "ambiguous"
    if state == EXPIRED:
        return "expired"
    if state == UPLOADING:  # claimed, nothing sent yet
        return "submitting"
    if state == SUBMITTING:
        return "ambiguous" if not task_id and age_s > STALE_SUBMIT_S else "submitting"
    return "unknown" if task_id else "failed"


def view(raw: dict, now: float | None = None) -> dict:
    """One journal row (as a column → value mapping) as the inbox shows it. Tolerates columns
    added by later journal versions and rows written by older ones."""
    now = time.time() if now is None else now
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    site = str(raw.get("site") or facts.DEFAULT_SITE)
    task_id = raw.get("task_id") or None
    state = str(raw.get("state") or "")
    path = raw.get("video_path") or ""
    has_video = bool(path) and Path(path).is_file()
    created = float(raw.get("created_at") or 0.0)
    kind = phase(state, has_video, task_id, now - created)
    started = raw.get("submitted_at") or created
    finished = raw.get("finished_at")
    cost = raw.get("cost")
    young = now - float(started) < facts.RESULT_URL_LIFETIME_S
    if not young and kind in ("pending", "ready", "unknown"):
        kind = "expired"  # RunningHub keeps a task and its result 24 h: past that no id recovers it
    prompt = str(request.get("prompt") or "")
    return {
        "row": raw.get("id"),
        "task_id": task_id,
        "site": site,
        "state": state,
        "phase": kind,
        "model": str(raw.get("model") or request.get("model") or V1_LITE.id),  # rows from before 2.0: v1-lite
        "prompt": prompt[:PROMPT_EXCERPT] + ("…" if len(prompt) > PROMPT_EXCERPT else ""),
        "options": {k: request[k] for k in _OPTION_KEYS if k in request},
        "created_at": created,
        "submitted_at": raw.get("submitted_at"),
        "finished_at": finished,
        "elapsed_s": round((float(finished) if finished else now) - float(started), 1)
        if kind not in ("ambiguous", "submitting") else None,
        "cost": None if cost is None else cost.number(),
        "currency": facts.SITE_CURRENCY.get(site, "") if cost is None else cost.currency,
        "video_path": path if has_video else "",
        "file_name": Path(path).name if path else "",
        "error": raw.get("error_message") or "",
        "error_code": raw.get("error_code") or "",
        "followed": is_followed(task_id),
        "recoverable": bool(task_id) and kind in ("pending", "ready", "unknown") and not is_followed(task_id),
        "lookup_url": lookup_url(site, task_id),
    }


# --- reading the journal -------------------------------------------------------------------
@contextmanager
def _reading(journal: Journal):
    """A read transaction on the journal file (None when there is no journal yet)."""
    with journal._db(write=False) as conn:  # the journal's own connection rules (WAL, busy timeout)
        yield conn


def _as_dict(raw: Any) -> dict:
    """A row as the inbox reads it: the request decoded, the cost as :class:`Money` (or None)."""
    values = {name: raw[name] for name in raw.keys()}
    values["request"] = _load_request(values.pop("request_json", None))
    values["cost"] = read_cost(values.get("cost"), values.pop("currency", None), values.get("site"))
    return values


def _load_request(text: Any) -> dict:
    import json

    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def parse_cursor(cursor: str | None) -> tuple[float, int] | None:
    """``"<created_at>:<row id>"`` of the last row of a page, as written by :func:`page`."""
    if not cursor:
        return None
    created, _, row = str(cursor).partition(":")
    try:
        return float(created), int(row)
    except ValueError:
        from ..core.errors import ValidationError

        raise ValidationError(f"Bad page cursor {cursor!r}: use the 'next' value of the previous page.") from None


def page(journal: Journal | None = None, *, limit: int = PAGE_SIZE, before: str | None = None,
         site: str | None = None, now: float | None = None) -> dict:
    """Newest tasks first: ``{"tasks": [...], "next": cursor or None}``; pass ``next`` as ``before``
    for the following page (stable while new tasks arrive)."""
    journal = journal or Journal()
    limit = max(1, min(MAX_PAGE_SIZE, int(limit)))
    where, params = [], []
    if site:
        where.append("site = ?")
        params.append(site)
    after = parse_cursor(before)
    if after is not None:
        where.append("(created_at < ? OR (created_at = ? AND id < ?))")
        params += [after[0], after[0], after[1]]
    sql = "SELECT * FROM tasks" + (" WHERE " + " AND ".join(where) if where else "")
    with _reading(journal) as conn:
        raws = [] if conn is None else conn.execute(
            sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (*params, limit + 1)).fetchall()
    rows = [_as_dict(raw) for raw in raws]
    more = len(rows) > limit
    rows = rows[:limit]
    views = [view(row, now) for row in rows]
    return {"tasks": views, "next": f"{rows[-1]['created_at']!r}:{rows[-1]['id']}" if more else None}


def find(row_id: int, journal: Journal | None = None, now: float | None = None) -> dict | None:
    """The view of one journal row by its row id."""
    journal = journal or Journal()
    with _reading(journal) as conn:
        raw = None if conn is None else conn.execute("SELECT * FROM tasks WHERE id = ?", (int(row_id),)).fetchone()
    return None if raw is None else view(_as_dict(raw), now)


def task(site: str, task_id: str, journal: Journal | None = None, now: float | None = None) -> dict | None:
    """The view of a task of ``site`` by its id: the newest of its rows, one with a saved video first."""
    journal = journal or Journal()
    with _reading(journal) as conn:
        raws = [] if conn is None else conn.execute(
            "SELECT * FROM tasks WHERE task_id = ? AND site = ? ORDER BY created_at DESC, id DESC",
            (str(task_id), site)).fetchall()
    views = [view(_as_dict(raw), now) for raw in raws]
    return next((v for v in views if v["video_path"]), views[0] if views else None)


# --- money ---------------------------------------------------------------------------------
def day_start(now: float) -> float:
    """Local midnight of ``now`` (the user's "today")."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_start(now: float) -> float:
    return datetime.fromtimestamp(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def _charged_rows(journal: Journal, since: float) -> list[dict]:
    """Rows with a recorded cost charged since ``since`` (charged when the task finished), one per task."""
    with _reading(journal) as conn:
        raws = [] if conn is None else conn.execute(
            "SELECT * FROM tasks WHERE cost IS NOT NULL AND cost != '' AND COALESCE(finished_at, created_at) >= ?"
            " ORDER BY created_at DESC, id DESC", (since,)).fetchall()
    seen: set[tuple] = set()
    rows = []
    for raw in raws:
        row = _as_dict(raw)
        identity = (row.get("site"), row.get("task_id") or f"row {row.get('id')}")
        if identity not in seen:
            seen.add(identity)
            rows.append(row)
    return rows


def _spent(rows: list[dict], since: float) -> dict[tuple[str, str], tuple[Money, int]]:
    """Per (site, currency): the exact sum charged since ``since`` and how many tasks charged it."""
    sums: dict[tuple[str, str], tuple[Money, int]] = {}
    for row in rows:
        cost = row.get("cost")
        if cost is None or (row.get("finished_at") or row.get("created_at") or 0) < since:
            continue
        key = (str(row.get("site") or ""), cost.currency)
        spent, count = sums.get(key, (Money.zero(cost.currency), 0))
        sums[key] = (spent + cost, count + 1)
    return sums


def _entries(sums: dict[tuple[str, str], tuple[Money, int]]) -> list[dict]:
    return [{"site": site, "currency": currency, "amount": spent.number(), "tasks": count}
            for (site, currency), (spent, count) in sorted(sums.items())]


def totals(journal: Journal | None = None, now: float | None = None) -> dict:
    """Spent today and this month (local time), per site and currency: ``{"today": [...], "month": [...]}``
    with entries ``{"site", "currency", "amount", "tasks"}`` (JSON for the tab and ``list --json``)."""
    journal = journal or Journal()
    now = time.time() if now is None else now
    today, month = day_start(now), month_start(now)
    rows = _charged_rows(journal, min(today, month))
    return {"today": _entries(_spent(rows, today)), "month": _entries(_spent(rows, month))}


def spent_today(site: str, journal: Journal | None = None, now: float | None = None) -> tuple[Money, int]:
    """Money recorded as charged today on ``site`` (in its currency) and how many tasks charged it."""
    journal = journal or Journal()
    now = time.time() if now is None else now
    currency = facts.SITE_CURRENCY[site]
    sums = _spent(_charged_rows(journal, day_start(now)), day_start(now))
    return sums.get((site, currency), (Money.zero(currency), 0))


def unpriced_today(site: str, journal: Journal | None = None, now: float | None = None) -> list[dict]:
    """Today's tasks on ``site`` that may still be charged: running, being submitted or claimed by a
    run that is uploading (of any process), no cost yet."""
    journal = journal or Journal()
    now = time.time() if now is None else now
    with _reading(journal) as conn:
        raws = [] if conn is None else conn.execute(
            "SELECT * FROM tasks WHERE site = ? AND created_at >= ? AND (cost IS NULL OR cost = '')",
            (site, day_start(now))).fetchall()
    rows = [_as_dict(raw) for raw in raws]
    return [row for row in rows if (row.get("task_id") and row.get("state") in facts.PENDING_STATES)
            or (row.get("state") in (UPLOADING, SUBMITTING)
                and now - float(row.get("created_at") or 0) < STALE_SUBMIT_S)]
