"""The spend guard: an optional daily budget per site, checked before a run uploads anything.

A run is refused when today's recorded spend on its site, plus the estimated price of today's
tasks that are still running (not charged yet), plus this run's price would pass the budget.
Runs claimed earlier that are still uploading count too (the journal claims a run before its
check, in every process): the nodes of one prompt run in parallel and must not all pass against
the same spend, so the earliest claim passes first. This run's price is RunningHub's price preview,
else the published table. Asking for a price never uploads anything. Budgets live in
``budget.json`` in the state folder; none is set by default.
"""
from __future__ import annotations

import dataclasses
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import config, facts, inbox, models
from .journal import UPLOADING
from .errors import RunningHubError, ValidationError
from .files import write_atomically

BUDGET_FILE = "budget.json"
MAX_BUDGET = 1_000_000
PREVIEW_PROMPT = "price preview"


class BudgetExceededError(RunningHubError):
    """The run would pass the site's daily budget: refused before any upload, nothing charged."""

    code = "budget"

    def __init__(self, message: str, *, figures: dict) -> None:
        super().__init__(message, advice="Raise or turn off the daily budget in Settings → RunningHub, "
                                         "or run it tomorrow.")
        self.figures = figures


# --- the budgets ---------------------------------------------------------------------------
def budget_path() -> Path:
    return config.state_dir() / BUDGET_FILE


def daily_budgets() -> dict[str, float]:
    """Site → daily budget in the site's currency, for the sites that have one."""
    try:
        data = json.loads(budget_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    daily = data.get("daily") if isinstance(data, dict) else None
    if not isinstance(daily, dict):
        return {}
    return {site: float(value) for site, value in daily.items()
            if site in facts.SITES and isinstance(value, (int, float)) and math.isfinite(value) and value >= 0}


def set_daily_budget(site: str, amount: Any) -> dict[str, float]:
    """Set (a number ≥ 0) or turn off (None or "") the daily budget of ``site``; returns all budgets."""
    config.check_site(site)
    budgets = daily_budgets()
    if amount is None or amount == "":
        budgets.pop(site, None)
    else:
        try:
            value = float(amount)
        except (TypeError, ValueError):
            value = math.nan
        if isinstance(amount, bool) or not math.isfinite(value) or not 0 <= value <= MAX_BUDGET:
            raise ValidationError(f"A daily budget is an amount from 0 to {MAX_BUDGET} in the site's currency "
                                  f"({facts.SITE_CURRENCY[site]}), or empty for none; got {amount!r}.")
        budgets[site] = round(value, 4)
    path = budget_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda f: f.write(json.dumps({"daily": budgets}, indent=2).encode("utf-8")), private=True)
    return budgets


def status(site: str, journal=None, now: float | None = None, *, own_row: int | None = None) -> dict:
    """The figures of a site's day: budget (None = off), spent, still-running estimate, currency.

    ``own_row``: the journal claim of the run being checked (left out, as are runs claimed after it)."""
    config.check_site(site)
    spent, charged = inbox.spent_today(site, journal, now)
    running, unpriced = _running_estimate(site, journal, now, own_row)
    return {"site": site, "currency": facts.SITE_CURRENCY[site], "budget": daily_budgets().get(site),
            "spent": float(spent), "charged_tasks": charged, "running": float(running),
            "running_tasks": unpriced}


def _running_estimate(site: str, journal, now: float | None, own_row: int | None) -> tuple[Decimal, int]:
    """Published price of today's tasks that may still be charged (0 where no table is known): those
    submitted or running, and runs claimed before ``own_row`` that are still uploading."""
    total, count = Decimal(0), 0
    for row in inbox.unpriced_today(site, journal, now):
        if own_row is not None and (row["id"] == own_row or (row["state"] == UPLOADING and row["id"] > own_row)):
            continue  # this run, or one claimed after it (that one is checked against this one)
        request = row.get("request") or {}
        model = models.MODELS.get(str(request.get("model") or ""), models.V1_LITE)  # rows before 2.0: v1-lite
        known = str(request.get("duration")) in model.choices("duration")
        price = model.table_price(site, str(request.get("resolution", "")), request["duration"]) if known else None
        total += Decimal(str(price or 0))
        count += 1
    return total, count


# --- the price of one run ------------------------------------------------------------------
def preview_price(client, request) -> dict:
    """RunningHub's price preview for a validated request's model and options: ``{"price",
    "currency", "text"}``. Uploads nothing (see :func:`_stand_in_reference`)."""
    preview = dataclasses.replace(request, prompt=PREVIEW_PROMPT, last_frame=False)
    answer = client.price_preview(preview.body([_stand_in_reference(client.settings.base_url)]),
                                  request.spec.price_preview_path)
    return {"price": answer.estimated_price, "currency": answer.currency, "text": answer.price_text}


def _stand_in_reference(base_url: str) -> str:
    """The reference URL sent with a price preview, which takes a whole submit body.

    A price depends only on model, duration and resolution, and the model's URL fields accept any
    https URL [S], so an address on the site itself stands in for a reference: nothing is put
    into the user's RunningHub storage to learn a price. Whether the real preview fetches or
    checks that URL is unknown [U]; if it refuses it, every caller falls back to the published
    table (and the budget then refuses a run whose price stays unknown)."""
    return f"https://{urlsplit(base_url).netloc}/favicon.ico"


def run_price(client, site: str, request) -> tuple[Decimal | None, str]:
    """This run's price and where it came from ("preview", "table"), or (None, "none")."""
    table = request.spec.table_price(site, request.resolution, request.duration)
    try:
        preview = preview_price(client, request)
    except RunningHubError:
        preview = None  # the table (if any) still guards the budget
    if preview is not None and preview.get("price") is not None:
        return Decimal(str(preview["price"])), "preview"
    if table is not None:
        return Decimal(str(table)), "table"
    return None, "none"


def check_budget(client, site: str, request, journal=None, now: float | None = None, *,
                 row_id: int | None = None) -> None:
    """Refuse (BudgetExceededError) a run that would pass the site's daily budget; no budget: no-op.

    Called by the pipeline after its journal claim (``row_id``) found nothing to reuse, before any upload."""
    budget = daily_budgets().get(site)
    if budget is None:
        return
    price, source = run_price(client, site, request)
    currency = facts.SITE_CURRENCY[site]
    figures = status(site, journal, now, own_row=row_id)
    figures.update(price=None if price is None else float(price), price_source=source)
    committed = Decimal(str(figures["spent"])) + Decimal(str(figures["running"]))
    if price is None:
        raise BudgetExceededError(
            f"The price of this run is unknown (no price preview, no published price for .{site}), so it "
            f"cannot be checked against your daily budget of {_amount(budget, currency)}. Nothing was "
            "uploaded or charged.", figures=figures)
    if committed + price > Decimal(str(budget)):
        running = (f" + {_amount(figures['running'], currency)} estimated for {figures['running_tasks']} "
                   "task(s) still running" if figures["running_tasks"] else "")
        raise BudgetExceededError(
            f"Refused before uploading anything: this run costs {_amount(price, currency)} "
            f"({'price preview' if source == 'preview' else 'published price'}); spent today on .{site}: "
            f"{_amount(figures['spent'], currency)}{running}. Together that passes your daily budget of "
            f"{_amount(budget, currency)}.", figures=figures)


def _amount(value: Any, currency: str) -> str:
    return f"{Decimal(str(value)):.2f} {currency}"
