"""The spend guard: an optional daily budget per site, checked before a run uploads anything.

It fails closed. A run is refused when today's recorded spend on its site, plus every task of
today that may be charged without a reported charge (running, being submitted, an unanswered
submit, a finished task whose charge RunningHub did not report or reported as no amount), plus
this run's price would pass the budget. Such a task counts at the price its run was checked
against (recorded on its journal row), else the model table's price; when neither is known the
budget cannot be checked and the run is refused too. Runs claimed earlier that are still
uploading count (the journal claims a run before its check, in every process): the nodes of one
prompt run in parallel and must not all pass against the same spend, so the earliest claim
passes first. This run's price is RunningHub's price preview, else the model table's. Asking for
a price never uploads anything. Budgets live in ``budget.json`` in the state folder; none is set
by default; a damaged file refuses every run until the budget is set again (:func:`reset_daily_budget`
keeps the damaged file aside) or the file is fixed.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from ..remote import config, facts, pricing
from ..core import money
from ..core.errors import ConfigError, RunningHubError, ValidationError
from ..core.files import write_atomically
from ..core.store import move_aside
from ..ledger.journal import UPLOADING, Journal, day_start
from ..core.money import Money, format_money

BUDGET_FILE = "budget.json"
MAX_BUDGET = 1_000_000
_SET_AGAIN = ("Or set the daily budget again, which keeps the damaged file aside: Settings → RunningHub → "
              "Set the budget again, or `python -m runninghub_video budget --daily AMOUNT` (`--off`: no budget).")


@dataclass(frozen=True)
class Day:
    """A site's day against its budget, in the site's currency."""
    site: str
    budget: Money | None  # None: no budget set
    spent: Money  # charged today, as RunningHub reported it
    charged_tasks: int
    running: Money  # the price of today's tasks that may be charged without a reported charge
    running_tasks: int
    unpriced: tuple[str, ...] = ()  # those of them whose price is unknown too (task id, or "row N")

    @property
    def currency(self) -> str:
        return self.spent.currency

    @property
    def committed(self) -> Money:
        return self.spent + self.running

    def unreported(self) -> str:
        """' + <estimate> estimated for N task(s) whose charge is not reported yet', or '' (none)."""
        if not self.running_tasks:
            return ""
        return (f" + {format_money(self.running)} estimated for {self.running_tasks} task(s) whose charge is not "
                "reported yet")

    def as_json(self) -> dict:
        """The budget route's answer (js/inbox.js): amounts as numbers beside their currency."""
        return {"site": self.site, "currency": self.currency,
                "budget": None if self.budget is None else self.budget.number(), "spent": self.spent.number(),
                "charged_tasks": self.charged_tasks, "running": self.running.number(),
                "running_tasks": self.running_tasks, "unpriced_tasks": len(self.unpriced)}


class BudgetExceededError(RunningHubError):
    """The run would pass the site's daily budget: refused before any upload, nothing charged.
    ``day``: the site's figures; ``price``: this run's (None when unknown), from ``price_source``."""

    code = "budget"

    def __init__(self, message: str, *, day: Day, price: Money | None, price_source: str) -> None:
        super().__init__(message, advice="Raise or turn off the daily budget in Settings → RunningHub, "
                                         "or run it tomorrow.")
        self.day, self.price, self.price_source = day, price, price_source


class BudgetUncheckedError(RunningHubError):
    """A price the budget needs is unknown, so the run is refused (the budget fails closed)."""

    code = "budget_unchecked"


class BudgetFileError(ConfigError):
    """The budget file cannot be read: every run is refused until it is fixed or removed.
    ``details["path"]``: the file."""

    code = "budget_file"


# --- the budgets ---------------------------------------------------------------------------
def budget_path() -> Path:
    return config.state_dir() / BUDGET_FILE


def daily_budgets() -> dict[str, Money]:
    """Site → daily budget in the site's currency, for the sites that have one. A file that cannot
    be read or holds anything but amounts raises :class:`BudgetFileError` naming it: a damaged
    file never reads as "no budget"."""
    path = budget_path()
    earlier = config.earlier_state_dir()
    if earlier is not None and not path.exists() and (earlier / BUDGET_FILE).exists():
        path = earlier / BUDGET_FILE  # set in ComfyUI before the state folder was shared; the next set moves it
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise BudgetFileError(f"The budget file {path} cannot be read ({exc.strerror or exc}), so no run is "
                              "checked against it: every run is refused.",
                              advice="Fix its permissions. " + _SET_AGAIN,
                              details={"path": str(path)}) from None
    except ValueError as exc:  # not UTF-8, not JSON
        raise _damaged(path, f"not JSON: {exc}") from None
    daily = data.get("daily") if isinstance(data, dict) else None
    if not isinstance(daily, dict):
        raise _damaged(path, "no 'daily' object")
    budgets = {}
    for site, value in daily.items():
        if site not in facts.SITES:
            continue  # a site a later version of the pack knows
        amount = _stored_amount(site, value)
        if amount is None:
            raise _damaged(path, f"the .{site} budget {str(value)[:40]!r} is not an amount from 0 to {MAX_BUDGET}")
        budgets[site] = amount
    return budgets


def _damaged(path: Path, why: str) -> BudgetFileError:
    return BudgetFileError(f"The budget file {path} is damaged ({why}), so no run is checked against it: every "
                           "run is refused.", advice="Fix the file. " + _SET_AGAIN,
                           details={"path": str(path)})


def set_daily_budget(site: str, amount: Any) -> dict[str, Money]:
    """Set (an amount ≥ 0) or turn off (None or "") the daily budget of ``site``; returns all budgets.
    A damaged budget file is refused here (its other sites' budgets would be lost unseen): see
    :func:`reset_daily_budget`."""
    config.check_site(site)
    budgets = daily_budgets()
    _put(budgets, site, None if amount in (None, "") else _amount(site, amount))
    return budgets


@dataclass(frozen=True)
class KeptAside:
    """What :func:`reset_daily_budget` did with a damaged budget file."""
    path: Path  # where the damaged file is now
    held: tuple[str, ...]  # other sites whose budget it did not say: 0 (every run refused) until set again


def reset_daily_budget(site: str, amount: Any, *, no_budget: bool = False) -> tuple[dict[str, Money], KeptAside | None]:
    """Set the daily budget of ``site`` even over a damaged file: an amount, or no budget when
    ``no_budget`` says so (never because an amount is missing: that would turn the budget off unseen).

    A damaged (or unreadable) file is renamed ``budget.json.damaged-<time>`` beside itself, as the
    journal keeps a damaged database, and a new file written. The other sites keep the budgets it
    still says (an amount, or none when it names the site not at all); a site it does not say
    clearly gets a budget of 0, refusing its runs until that budget is set again. Returns all
    budgets and, when a damaged file was replaced, where it went (None: the file was sound)."""
    config.check_site(site)
    if no_budget == (amount not in (None, "")):
        raise ValidationError("Say the daily budget to start from: an amount, or no budget (explicitly); "
                              "nothing was changed.", code="budget_reset_choice")
    new = None if no_budget else _amount(site, amount)  # checked before the file is touched
    try:
        budgets, kept = daily_budgets(), None
    except BudgetFileError as exc:
        damaged = Path(exc.details["path"])
        readable = _readable_budgets(damaged)
        try:
            moved = move_aside(damaged)
        except OSError as move_exc:
            raise BudgetFileError(f"The budget file {damaged} is damaged and could not be kept aside "
                                  f"({move_exc.strerror or move_exc}); nothing was changed.",
                                  advice="Move or delete it by hand, then set the budget again.",
                                  details={"path": str(damaged)}) from None
        held = tuple(s for s in facts.SITES if s != site and s not in readable)
        budgets = {s: b for s, b in readable.items() if b is not None and s != site}
        budgets.update({s: Money.zero(facts.SITE_CURRENCY[s]) for s in held})
        kept = KeptAside(moved, held)
    _put(budgets, site, new)
    return budgets, kept


def _readable_budgets(path: Path) -> dict[str, Money | None]:
    """What a damaged budget file still says clearly, per site: an amount, or None (not named in a
    readable ``daily`` object: no budget). Sites left out are unknown."""
    try:
        daily = json.loads(path.read_text(encoding="utf-8")).get("daily")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(daily, dict):
        return {}
    said: dict[str, Money | None] = {site: None for site in facts.SITES if site not in daily}
    amounts = {site: _stored_amount(site, daily.get(site)) for site in facts.SITES}
    said.update({site: amount for site, amount in amounts.items() if amount is not None})
    return said


def _stored_amount(site: str, value: Any) -> Money | None:
    """A budget as the file stores it (a number, or an amount as text, 0 to MAX_BUDGET); None otherwise."""
    amount = None if isinstance(value, bool) or not isinstance(value, (int, float, str)) \
        else money.parse(value, facts.SITE_CURRENCY[site])
    return None if amount is None or amount.amount > MAX_BUDGET else amount


def _amount(site: str, amount: Any) -> Money:
    """``amount`` as a daily budget of ``site`` (0 to MAX_BUDGET in its currency), or ValidationError."""
    budget = None if isinstance(amount, bool) else money.parse(amount, facts.SITE_CURRENCY[site])
    if budget is None or budget.amount > MAX_BUDGET:
        raise ValidationError(f"A daily budget is an amount from 0 to {MAX_BUDGET} in the site's currency "
                              f"({facts.SITE_CURRENCY[site]}), or empty for none; got {amount!r}.",
                              code="budget_amount", details={"maximum": MAX_BUDGET, "value": str(amount)[:40],
                                                             "currency": facts.SITE_CURRENCY[site]})
    return Money(budget.amount.quantize(Decimal("0.0001")), budget.currency)


def _put(budgets: dict[str, Money], site: str, budget: Money | None) -> None:
    """Set ``site``'s budget in ``budgets`` (None: none) and write them all to the budget file."""
    if budget is None:
        budgets.pop(site, None)
    else:
        budgets[site] = budget
    path = budget_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {site: float(budget.amount) for site, budget in budgets.items()}  # a plain number in the file
    write_atomically(path, lambda f: f.write(json.dumps({"daily": stored}, indent=2).encode("utf-8")), private=True)


def status(site: str, journal=None, now: float | None = None, *, own_row: int | None = None) -> Day:
    """The figures of a site's day: budget (None = off), spent, the price of tasks not settled yet.

    ``own_row``: the journal claim of the run being checked (left out, as are runs claimed after it)."""
    config.check_site(site)
    journal = journal or Journal()
    now = time.time() if now is None else now
    currency = facts.SITE_CURRENCY[site]
    spent, charged = journal.charged(day_start(now)).get((site, currency), (Money.zero(currency), 0))
    running, count, unpriced = _unsettled(site, journal, now, own_row)
    return Day(site, daily_budgets().get(site), spent, charged, running, count, unpriced)


def _unsettled(site: str, journal: Journal, now: float, own_row: int | None) -> tuple[Money, int, tuple[str, ...]]:
    """Today's tasks that may be charged without a reported charge (see Journal.uncharged): the sum
    of their prices, how many, and which have no price known. Runs claimed before ``own_row`` that
    are still uploading count; this run and later claims do not."""
    prices, count, unpriced = [], 0, []
    for row in journal.uncharged(site, day_start(now), now):
        if own_row is not None and (row.id == own_row or (row.state == UPLOADING and row.id > own_row)):
            continue  # this run, or one claimed after it (that one is checked against this one)
        price = row.price or table_price_of(site, row.request)
        if price is None:
            unpriced.append(row.task_id or f"row {row.id}")
        prices.append(price)
        count += 1
    return money.total(prices, facts.SITE_CURRENCY[site]), count, tuple(unpriced)


def table_price_of(site: str, stored: Mapping) -> Money | None:
    """The model table's price of a run as the journal stores its request (:func:`pricing.stored_price`);
    a range (a duration the model chooses, a price in tokens) counts its top."""
    price = pricing.stored_price(site, stored)
    return None if price is None else price.top


# --- the price of one run ------------------------------------------------------------------
def run_price(client, site: str, request) -> tuple[Money | None, str]:
    """This run's price as the budget counts it (a range's top) and where it came from ("preview",
    "table"), or (None, "none"): :func:`pricing.quote` of the request, its reference counts included."""
    found = pricing.quote(client, request)
    return (None if found.price is None else found.price.top), found.source


def check_budget(client, site: str, request, journal: Journal | None = None, now: float | None = None, *,
                 row_id: int | None = None) -> None:
    """Refuse a run that would pass the site's daily budget (BudgetExceededError), or whose budget
    cannot be checked (BudgetUncheckedError, BudgetFileError); no budget: no-op. A run that passes
    is recorded at its price on its journal row (``row_id``), which counts until its charge is known.

    Called by the pipeline after its journal claim found nothing to reuse, before any upload."""
    budget = daily_budgets().get(site)
    if budget is None:
        return
    journal = journal or Journal()
    price, source = run_price(client, site, request)
    day = status(site, journal, now, own_row=row_id)
    if price is None:
        raise BudgetUncheckedError(
            f"The price of this run is unknown (no price preview, no published price for .{site}), so it cannot "
            f"be checked against your daily budget of {format_money(budget)}. Nothing was uploaded or charged.",
            advice="Try again when the price preview answers, or turn off the daily budget of this site.")
    if day.unpriced:
        raise BudgetUncheckedError(
            f"Today's task(s) {', '.join(day.unpriced)} on .{site} may have been charged, but neither RunningHub "
            "nor the published prices say how much, so this run cannot be checked against your daily budget of "
            f"{format_money(budget)}. Nothing was uploaded or charged.",
            advice="Fetch those tasks (their charge is recorded when they finish), or turn off the daily budget "
                   "of this site.")
    if (day.committed + price).amount > budget.amount:
        raise BudgetExceededError(
            f"Refused before uploading anything: this run costs {format_money(price)} "
            f"({'price preview' if source == 'preview' else 'published price'}); spent today on .{site}: "
            f"{format_money(day.spent)}{day.unreported()}. Together that passes your daily budget of {format_money(budget)}.",
            day=day, price=price, price_source=source)
    if row_id is not None:
        journal.update(int(row_id), price=price)
