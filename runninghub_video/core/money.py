"""Money: an exact amount and its currency, from RunningHub's answer to the text a user reads.

RunningHub reports charges and prices as decimal text ("0.75"); budgets are amounts in a site's
currency (which site charges in which currency is a fact: ``facts.SITE_CURRENCY``). An amount is a
``Decimal`` from the moment it is parsed, so a day's sum is exact (0.1 + 0.2 is 0.3, not
0.30000000000000004), and it becomes text only in :func:`format_money`, the one place that
decides how money reads, in English and Chinese. JSON for the browser carries the amount as a
number beside its currency code (:meth:`Money.number`); js/format.js shows it the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

CURRENCIES = frozenset({"CNY", "USD"})
_CENT = Decimal("0.01")
# Our bound, not RunningHub's: no charge, price, budget or balance the pack reads comes near it, and
# every amount up to it is a float that JSON carries exactly enough (1E+30 or 1e400 are garbage).
MAX_AMOUNT = Decimal(10) ** 9
_MAX_TEXT = 40  # characters of an amount's text; longer is garbage too (and would be stored as such)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str  # "CNY" or "USD"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError(f"an amount of money is a finite Decimal, not {self.amount!r}")
        if self.currency not in CURRENCIES:
            raise ValueError(f"unknown currency {self.currency!r} (expected one of {sorted(CURRENCIES)})")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def number(self) -> float:
        """The amount as a JSON number (for the browser, which shows two decimals)."""
        return float(self.amount)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)


def parse(value: Any, currency: str) -> Money | None:
    """An amount as RunningHub, a journal (also one written by an older version) or a budget file
    holds it — "0.75", " 0.75 ", 0.75, 3 — in ``currency``; None when unknown ("", None, "n/a",
    NaN, infinite, negative, above :data:`MAX_AMOUNT`, or text longer than any amount)."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if len(text) > _MAX_TEXT:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return None
    return Money(amount, currency)


def total(items: Iterable[Money | None], currency: str) -> Money:
    """The exact sum of ``items`` in ``currency`` (unknown amounts left out); mixing currencies is an error."""
    return sum((m for m in items if m is not None), Money.zero(currency))


def format_money(money: Money, lang: str = "en", *, approx: bool = False) -> str:
    """The one way money reads: "0.75 CNY", "0.75 元" (Chinese), "$0.75" (either language);
    ``approx`` marks an estimate: "≈0.75 CNY". Two decimals, more only when the amount has them
    (a charge of 0.035 USD is "$0.035", never rounded to a price nobody paid)."""
    cents = money.amount.quantize(_CENT)
    digits = f"{cents:.2f}" if cents == money.amount else format(money.amount.normalize(), "f")
    sign = "≈" if approx else ""
    if money.currency == "USD":
        return f"{sign}${digits}"
    if str(lang).lower().startswith("zh"):
        return f"{sign}{digits} 元"
    return f"{sign}{digits} {money.currency}"


@dataclass(frozen=True)
class Price:
    """What a run costs or may cost: ``low`` == ``high`` for an exact price, else a range whose top
    a budget must count (a duration the model chooses, a price counted in tokens)."""
    low: Money
    high: Money

    def __post_init__(self) -> None:
        if self.low.currency != self.high.currency or self.low.amount > self.high.amount:
            raise ValueError(f"not a price range: {self.low} to {self.high}")

    @classmethod
    def exact(cls, amount: Money) -> Price:
        return cls(amount, amount)

    @property
    def is_exact(self) -> bool:
        return self.low.amount == self.high.amount

    @property
    def top(self) -> Money:
        return self.high

    @property
    def currency(self) -> str:
        return self.low.currency


def format_price(price: Price, lang: str = "en", *, approx: bool = True) -> str:
    """A price as format_money says money, a range as "≈9.45–18.90 CNY" ("$1.32–$2.64" in USD)."""
    if price.is_exact:
        return format_money(price.low, lang, approx=approx)
    high = format_money(price.high, lang)
    low = format_money(price.low, lang, approx=approx)
    if price.currency != "USD":  # the unit once, after the range
        low = low.rsplit(" ", 1)[0]
    return f"{low}–{high}"
