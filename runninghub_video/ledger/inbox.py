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

import re
import time
from dataclasses import fields
from pathlib import Path

from ..remote import facts
from .journal import (ABANDONED, AMBIGUOUS, DOWNLOADED, EXPIRED, REJECTED, STALE_SUBMIT_S, SUBMITTING, UPLOADING,
                      Journal, Row, day_start, month_start)
from .journal import following, is_followed  # noqa: F401 (the tab marks and asks through the inbox)
from ..remote.models import MODELS, V1_LITE
from ..core.money import Money, total as money_total

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PROMPT_EXCERPT = 160
# facts.RESULT_URL_LIFETIME_S after its submit a task can no longer be fetched [C: results live 24 h]
_FAILED = facts.TERMINAL_FAILURE_STATES | {REJECTED, ABANDONED}  # ours: refused or never sent, no charge
# every model's option fields (models.py), in the order a user reads them
_OPTION_KEYS = tuple(dict.fromkeys(o.wire for m in MODELS.values() for o in m.options))


# Budget refusals journaled before their row kept a code (the pack of 2026-12-06 20:07-20:39 UTC):
# the code their English message stands for, so the tab words them in the user's language too.
_EARLIER_REFUSALS = (("Refused before uploading anything:", "budget"), ("The price of this run is unknown",
                     "budget_unchecked"), ("Today's task(s) ", "budget_unchecked"), ("The budget file ", "budget_file"))
_EARLIER_PRICE = re.compile(r"this run costs \$?(\d+(?:\.\d+)?)")


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


def view(raw: Row | dict, now: float | None = None) -> dict:
    """One journal row (a :class:`Row`, or a column → value mapping) as the inbox shows it. Tolerates
    columns added by later journal versions and rows written by older ones."""
    now = time.time() if now is None else now
    if isinstance(raw, Row):
        raw = {f.name: getattr(raw, f.name) for f in fields(raw)}
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
        # a time only for what reached RunningHub: a run refused or given up before its submit took none
        "elapsed_s": round((float(finished) if finished else now) - float(started), 1)
        if task_id and kind not in ("ambiguous", "submitting") else None,
        "cost": None if cost is None else cost.number(),
        "price": raw["price"].number() if isinstance(raw.get("price"), Money) else _earlier_price(raw),  # as counted
        "currency": facts.SITE_CURRENCY.get(site, "") if cost is None else cost.currency,
        "video_path": path if has_video else "",
        "file_name": Path(path).name if path else "",
        "error": raw.get("error_message") or "",
        "error_code": raw.get("error_code") or _earlier_refusal(state, raw.get("error_message") or ""),
        "followed": is_followed(task_id),
        "recoverable": bool(task_id) and kind in ("pending", "ready", "unknown") and not is_followed(task_id),
        "lookup_url": lookup_url(site, task_id),
        "batch": {"id": raw["batch_id"], "name": raw.get("batch_name") or "", "item": raw.get("batch_item") or ""}
        if raw.get("batch_id") else None,
    }


def _earlier_refusal(state: str, message: str) -> str:
    """The code of a budget refusal an earlier version journaled by its English message only, else ""."""
    if state != REJECTED:
        return ""
    return next((code for start, code in _EARLIER_REFUSALS if message.startswith(start)), "")


def _earlier_price(raw: dict) -> float | None:
    """The price such a refusal names in its message ("this run costs 0.14 CNY"), else None."""
    found = _EARLIER_PRICE.search(str(raw.get("error_message") or "")) if raw.get("state") == REJECTED else None
    return float(found.group(1)) if found else None


# --- pages of the journal ------------------------------------------------------------------
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
    rows = journal.page(limit + 1, parse_cursor(before), site)
    more = len(rows) > limit
    rows = rows[:limit]
    views = [view(row, now) for row in rows]
    return {"tasks": views, "batches": batches(journal, [v["batch"]["id"] for v in views if v["batch"]]),
            "next": f"{rows[-1].created_at!r}:{rows[-1].id}" if more else None}


def batches(journal: Journal, ids: list[str]) -> list[dict]:
    """The batches (of two tasks or more) these ids name, each with its total over all its tasks,
    also those on other pages: ``{id, name, tasks, saved, cost, currency}`` (the tab's group header)."""
    out = []
    for batch_id in dict.fromkeys(ids):
        rows = journal.batch_rows(batch_id)
        if len(rows) < 2:
            continue
        currency = rows[0].cost.currency if rows[0].cost else facts.SITE_CURRENCY.get(rows[0].site, "")
        costs = [r.cost for r in rows if r.cost is not None and r.cost.currency == currency]
        out.append({"id": batch_id, "name": rows[-1].batch_name or "", "tasks": len(rows),
                    "saved": sum(1 for r in rows if r.has_video), "currency": currency,
                    "cost": money_total(costs, currency).number() if currency else None})
    return out


def find(row_id: int, journal: Journal | None = None, now: float | None = None) -> dict | None:
    """The view of one journal row by its row id."""
    row = (journal or Journal()).row(int(row_id))
    return None if row is None else view(row, now)


def task(site: str, task_id: str, journal: Journal | None = None, now: float | None = None) -> dict | None:
    """The view of a task of ``site`` by its id: the newest of its rows, one with a saved video first."""
    views = [view(row, now) for row in (journal or Journal()).task_rows(task_id, site)]
    return next((v for v in views if v["video_path"]), views[0] if views else None)


# --- money ---------------------------------------------------------------------------------
def _entries(sums: dict[tuple[str, str], tuple[Money, int]]) -> list[dict]:
    return [{"site": site, "currency": currency, "amount": spent.number(), "tasks": count}
            for (site, currency), (spent, count) in sorted(sums.items())]


def totals(journal: Journal | None = None, now: float | None = None) -> dict:
    """Spent today and this month (local time), per site and currency: ``{"today": [...], "month": [...]}``
    with entries ``{"site", "currency", "amount", "tasks"}`` (JSON for the tab and ``list --json``)."""
    journal = journal or Journal()
    now = time.time() if now is None else now
    return {"today": _entries(journal.charged(day_start(now))), "month": _entries(journal.charged(month_start(now)))}


def spent_today(site: str, journal: Journal | None = None, now: float | None = None) -> tuple[Money, int]:
    """Money recorded as charged today on ``site`` (in its currency) and how many tasks charged it."""
    now = time.time() if now is None else now
    currency = facts.SITE_CURRENCY[site]
    return (journal or Journal()).charged(day_start(now)).get((site, currency), (Money.zero(currency), 0))
