"""Money is an exact amount plus its currency until a user reads it (runninghub_video/core/money.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ..runninghub_video.remote import wire
from ..runninghub_video.core.money import Money, format_money, parse, total


def cny(text: str) -> Money:
    return Money(Decimal(text), "CNY")


def test_money_reads_as_the_site_charges_it_in_english_and_chinese():
    assert format_money(cny("0.75")) == "0.75 CNY"
    assert format_money(cny("0.75"), "zh") == "0.75 元"
    assert format_money(cny("0.75"), "zh-CN") == "0.75 元"
    assert format_money(Money(Decimal("0.4"), "USD")) == "$0.40"
    assert format_money(Money(Decimal("0.4"), "USD"), "zh") == "$0.40"


def test_an_estimate_is_marked_as_one():
    assert format_money(cny("0.75"), approx=True) == "≈0.75 CNY"
    assert format_money(cny("0.75"), "zh", approx=True) == "≈0.75 元"
    assert format_money(Money(Decimal("0.05"), "USD"), approx=True) == "≈$0.05"


def test_two_decimals_and_never_a_rounded_charge():
    assert format_money(cny("2")) == "2.00 CNY"
    assert format_money(cny("0.7500")) == "0.75 CNY"
    assert format_money(cny("1E+1")) == "10.00 CNY"
    assert format_money(Money(Decimal("0.035"), "USD")) == "$0.035"  # what was paid, not $0.04


def test_a_days_sum_is_exact_where_floats_drift():
    assert 0.1 + 0.2 != 0.3
    assert total([parse("0.1", "CNY"), parse(0.2, "CNY")], "CNY") == cny("0.3")
    assert format_money(total([parse("0.1", "CNY")] * 3, "CNY")) == "0.30 CNY"
    assert total([], "USD") == Money(Decimal(0), "USD")


def test_currencies_never_mix():
    with pytest.raises(ValueError, match="cannot add USD to CNY"):
        cny("1") + Money(Decimal("1"), "USD")
    with pytest.raises(ValueError, match="unknown currency"):
        Money(Decimal("1"), "RMB")


@pytest.mark.parametrize("value,amount", [("0.75", "0.75"), (" 0.75 ", "0.75"), (0.75, "0.75"), (3, "3"),
                                          (Decimal("1.20"), "1.20")])
def test_an_amount_is_read_from_text_or_number(value, amount):
    assert parse(value, "CNY") == cny(amount)


@pytest.mark.parametrize("value", [None, "", "n/a", "NaN", "inf", "-1", True])
def test_what_is_not_an_amount_is_unknown(value):
    assert parse(value, "CNY") is None


@pytest.mark.parametrize("usage,charged", [
    ({"consumeMoney": "0.75", "thirdPartyConsumeMoney": None}, "0.75"),
    ({"consumeMoney": "", "thirdPartyConsumeMoney": "0.75"}, "0.75"),
    ({"consumeMoney": "0.1", "thirdPartyConsumeMoney": "0.2"}, "0.3"),  # both charged: added, exactly
    ({"consumeMoney": "0", "thirdPartyConsumeMoney": "0.75"}, "0.75"),
    ({"consumeMoney": "0", "thirdPartyConsumeMoney": None}, "0"),  # reported as nothing charged
])
def test_the_charge_is_parsed_once_from_either_usage_field(usage, charged):
    status = wire.task_status({"taskId": "1", "status": "SUCCESS", "usage": usage}, "CNY")
    assert status.cost == cny(charged)


def test_no_charge_reported_is_no_cost():
    assert wire.task_status({"taskId": "1", "status": "RUNNING", "usage": None}, "CNY").cost is None
    assert wire.task_status({"taskId": "1", "status": "SUCCESS",
                             "usage": {"consumeMoney": None, "thirdPartyConsumeMoney": "n/a"}}, "USD").cost is None
