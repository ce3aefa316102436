"""The daily budget fails closed (runninghub_video/run/spend.py), and `python -m runninghub_video
budget` sets the same budget the Settings panel does. Runs are real, against the emulator."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import solid_images
from ..runninghub_video.core import errors
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.core.money import Money
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run import pipeline, spend


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def run(tmp_path, prompt: str, duration: str = "5", resolution: str = "720p"):
    """A v1-lite run: 720p x 5 s costs 0.75 CNY (preview and table alike)."""
    return pipeline.generate(solid_images(1), VideoRequest(prompt=prompt, duration=duration, resolution=resolution),
                             output_dir=tmp_path / "out")


def test_an_unanswered_submit_counts_at_its_price(rh_env, tmp_path, capsys):
    from ..runninghub_video.cli import main

    spend.set_daily_budget("cn", 1.0)
    rh_env.inject("submit", "timeout_after_create", seconds=0.1, status=504)
    with pytest.raises(errors.AmbiguousSubmitError):
        run(tmp_path, "the answer is lost")  # a task was made and will be charged 0.75
    with pytest.raises(spend.BudgetExceededError, match="0.75 CNY estimated for 1 task"):
        run(tmp_path, "another video")
    assert rh_env.counters.submits == 1
    assert spend.status("cn").running == cny("0.75")
    capsys.readouterr()
    assert main(["budget", "--site", "cn"]) == 0
    assert "; + 0.75 CNY estimated for 1 task(s) whose charge is not reported yet" in capsys.readouterr().out


@pytest.mark.parametrize("reported", [None, "-0.75", "1E+30", "lots"])
def test_a_task_whose_charge_was_not_reported_counts_at_its_price(rh_env, tmp_path, reported):
    spend.set_daily_budget("cn", 1.0)
    rh_env.report_charge_as(reported if reported is not None else "")
    done = run(tmp_path, "charged, but the answer does not say how much")
    assert done.cost is None and rh_env.counters.money_charged == pytest.approx(0.75)
    with pytest.raises(spend.BudgetExceededError, match="0.75 CNY estimated for 1 task"):
        run(tmp_path, "another video")
    assert rh_env.counters.submits == 1


def test_a_task_without_any_known_price_makes_the_budget_refuse(rh_env, tmp_path):
    """A task fetched by id, made elsewhere and still running: its price is nowhere to be found."""
    Journal().record("2000000000000000007", site="cn", endpoint="elsewhere", state="RUNNING")
    spend.set_daily_budget("cn", 100.0)
    with pytest.raises(spend.BudgetUncheckedError, match="2000000000000000007") as refused:
        run(tmp_path, "cannot be checked")
    assert rh_env.counters.submits == 0 and rh_env.counters.uploads == 0
    from ..runninghub_video.words import wording

    assert wording.error_line(refused.value, "zh", site="cn").startswith("已在上传前拒绝：每日预算所需的价格未知")
    assert wording.error_line(refused.value, "en", site="cn").startswith("refused before any upload: a price")


@pytest.mark.parametrize("content", ["{not json", "", "[]", '{"daily": 3}', '{"daily": {"cn": "lots"}}',
                                     '{"daily": {"cn": null}}', '{"daily": {"cn": 1e400}}', b"\xff\xfe"])
def test_a_damaged_budget_file_refuses_runs_and_names_the_file(rh_env, tmp_path, content):
    path = spend.budget_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(spend.BudgetFileError) as refused:
        run(tmp_path, "is there a budget?")
    assert str(path) in str(refused.value) and "refused" in str(refused.value)
    assert rh_env.counters.submits == 0 and rh_env.counters.uploads == 0
    with pytest.raises(spend.BudgetFileError):  # setting a budget would lose the other site's
        spend.set_daily_budget("cn", 5)
    assert path.read_bytes() == (content if isinstance(content, bytes) else content.encode())
    path.unlink()
    run(tmp_path, "no budget file: no budget")
    assert rh_env.counters.submits == 1


def test_a_run_records_the_price_it_was_checked_at(rh_env, tmp_path):
    spend.set_daily_budget("cn", 5.0)
    done = run(tmp_path, "priced")
    assert Journal().get(done.task_id).price == cny("0.75")


def test_the_tab_still_lists_the_tasks_beside_a_damaged_budget_file(rh_env, tmp_path):
    from ..nodes import inbox_routes

    done = run(tmp_path, "listed")
    spend.budget_path().write_text("{not json")
    page = inbox_routes.tasks()
    assert page["tasks"][0]["task_id"] == done.task_id
    assert page["budgets"] == {} and str(spend.budget_path()) in page["budget_error"]
    assert inbox_routes.budgets() == {"error": page["budget_error"], "code": "budget_file"}  # Settings says it too


def test_a_damaged_budget_file_is_said_in_chinese_with_what_to_do(rh_env, tmp_path):
    """Node, RunningHub tab and Settings: the file, that runs are refused until it is reset, and how."""
    from ..nodes import inbox_routes
    from ..runninghub_video.words import wording

    path = spend.budget_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(spend.BudgetFileError) as refused:
        run(tmp_path, "refused by a damaged file")
    line = (f"预算文件 {path} 已损坏或无法读取，在重新设置预算之前所有运行都会被拒绝：请在 设置 → RunningHub 中"
            "点“重新设置预算”（损坏的文件会另存保留），或运行 `python -m runninghub_video budget --daily 金额`")
    assert wording.failed(refused.value, "zh", site="cn") == f"失败：{line}"
    assert inbox_routes.budgets("zh-CN") == {"error": line, "code": "budget_file"}
    assert inbox_routes.save_budget("cn", 3, "zh") == {"error": line, "code": "budget_file"}
    page = inbox_routes.tasks(locale="zh")
    assert page["budget_error"] == line
    assert page["tasks"][0]["error"] == "已在上传前拒绝：当时预算文件已损坏或无法读取"
    assert str(path) in page["tasks"][0]["error_detail"]  # the English the journal keeps, on hover
    assert inbox_routes.budgets("en")["error"].startswith(f"the budget file {path} is damaged or unreadable, so "
                                                          "every run is refused until the budget is set again: "
                                                          "Settings → RunningHub → Set the budget again")


def test_a_run_refused_by_a_damaged_budget_file_says_so_still_once_the_budget_is_set_again(rh_env, tmp_path):
    """The tab's row tells what happened, not a step Settings no longer shows once the file is set again."""
    from ..nodes import inbox_routes

    spend.budget_path().parent.mkdir(parents=True, exist_ok=True)
    spend.budget_path().write_text("{not json")
    with pytest.raises(spend.BudgetFileError):
        run(tmp_path, "refused by a damaged file")
    said = {"en": "refused before any upload: the budget file was damaged or unreadable at the time",
            "zh": "已在上传前拒绝：当时预算文件已损坏或无法读取"}
    for moment in ("while the file is damaged", "after the budget was set again"):
        for lang, reason in said.items():
            assert inbox_routes.tasks(locale=lang)["tasks"][0]["error"] == reason, moment
        inbox_routes.reset_budget("cn", 5, locale="en")
    assert "error" not in inbox_routes.budgets("en")  # Settings has nothing to say of it any more

# --- python -m runninghub_video budget -------------------------------------------------------
def test_the_budget_command_sets_shows_and_turns_off_the_settings_panels_budget(rh_env, tmp_path, capsys):
    from ..nodes import inbox_routes
    from ..runninghub_video.cli import main

    assert main(["budget"]) == 0
    out = capsys.readouterr().out
    assert ".cn: daily budget off; spent today 0.00 CNY (0 task(s))" in out and ".ai: daily budget off" in out
    assert f"budget file: {spend.budget_path()}" in out
    assert main(["budget", "--site", "cn", "--daily", "2"]) == 0
    assert inbox_routes.budgets()["sites"]["cn"]["budget"] == 2.0  # what Settings → RunningHub shows
    run(tmp_path, "spend some")
    capsys.readouterr()
    assert main(["budget", "--site", "cn"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == \
        ".cn: daily budget 2.00 CNY; spent today 0.75 CNY (1 task(s)); left 1.25 CNY"
    inbox_routes.save_budget("ai", 1)  # the panel's write is read by the command
    assert main(["budget", "--site", "ai"]) == 0
    assert ".ai: daily budget $1.00" in capsys.readouterr().out
    assert main(["budget", "--site", "cn", "--off"]) == 0
    assert ".cn: daily budget off" in capsys.readouterr().out
    assert json.loads(spend.budget_path().read_text()) == {"daily": {"ai": 1.0}}


def damage(content: str) -> bytes:
    """Write ``content`` as the budget file; returns its bytes."""
    path = spend.budget_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path.read_bytes()


def test_the_budget_command_sets_the_budget_again_over_a_damaged_file_and_says_where_it_went(rh_env, tmp_path,
                                                                                            capsys):
    from ..runninghub_video.cli import main

    damaged = damage('{"daily": {"cn": "lots", "ai": 3}}')
    with pytest.raises(spend.BudgetFileError):
        run(tmp_path, "refused while the file is damaged")
    assert main(["budget", "--site", "cn", "--daily", "2"]) == 0
    out = capsys.readouterr().out
    (kept,) = spend.budget_path().parent.glob("budget.json.damaged-*")
    assert kept.read_bytes() == damaged  # kept aside as it was, never deleted
    assert f"The damaged budget file was kept as {kept}; a new one now holds the budget." in out
    assert ".cn: daily budget 2.00 CNY" in out and "did not say" not in out
    assert json.loads(spend.budget_path().read_text()) == {"daily": {"ai": 3.0, "cn": 2.0}}  # .ai's as it said
    done = run(tmp_path, "allowed under the new budget")
    assert done.cost == cny("0.75") and rh_env.counters.submits == 1


def test_turning_the_budget_off_over_a_damaged_file_never_turns_off_a_site_it_did_not_say(rh_env, tmp_path, capsys):
    from ..runninghub_video.cli import main

    damage("{not json")
    assert main(["budget", "--site", "cn", "--off"]) == 0
    out = capsys.readouterr().out
    assert "It did not say the budget of .ai: set to 0 (every run there refused) until you set it." in out
    assert ".cn: daily budget off" in out and ".ai: daily budget $0.00" in out
    assert spend.daily_budgets() == {"ai": Money.zero("USD")}
    run(tmp_path, "no budget on .cn, said explicitly")
    assert rh_env.counters.submits == 1


def test_setting_the_budget_again_needs_an_amount_or_an_explicit_no_budget(rh_env):
    damaged = damage("{not json")
    for amount, no_budget in ((None, False), ("", False), ("lots", False), (3, True)):
        with pytest.raises(errors.ValidationError):
            spend.reset_daily_budget("cn", amount, no_budget=no_budget)
    assert spend.budget_path().read_bytes() == damaged  # nothing moved, nothing written
    assert not list(spend.budget_path().parent.glob("budget.json.damaged-*"))
    budgets, kept = spend.reset_daily_budget("cn", 4)
    assert budgets == {"cn": cny("4"), "ai": Money.zero("USD")} and kept.held == ("ai",)
    assert kept.path.name.startswith("budget.json.damaged-") and kept.path.read_bytes() == damaged
    assert spend.reset_daily_budget("cn", 5) == ({"cn": cny("5"), "ai": Money.zero("USD")}, None)  # a sound file


def test_the_budget_command_refuses_what_is_not_an_amount(rh_env, capsys):
    from ..runninghub_video.cli import main

    assert main(["budget", "--daily", "lots"]) == 2
    assert "daily budget is an amount" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["budget", "--daily", "3", "--off"])
    spend.budget_path().parent.mkdir(parents=True)
    spend.budget_path().write_text("{not json")
    assert main(["budget"]) == 2
    assert str(spend.budget_path()) in capsys.readouterr().err


def test_a_2_0_run_with_a_reference_video_is_refused_by_a_budget_below_its_true_price(rh_env, tmp_path):
    """480p x 4 s is 2.40 at the per-second rate, but with a reference video it is billed
    ceil(5/3 x 4) = 7 s at 0.40: 2.80 (the facts file's "Price with reference videos")."""
    from conftest import clip

    request = VideoRequest(prompt="dance like the clip", model="seedance-2.0", duration="4", resolution="480p")
    videos = [clip(tmp_path, 2)]
    spend.set_daily_budget("cn", 2.5)
    with pytest.raises(spend.BudgetExceededError) as refused:
        pipeline.generate(solid_images(1), request, videos=videos, output_dir=tmp_path / "out")
    assert refused.value.price == cny("2.80") and "2.80 CNY" in str(refused.value)
    assert rh_env.counters.uploads == 0 and rh_env.counters.submits == 0
    spend.set_daily_budget("cn", 2.8)
    done = pipeline.generate(solid_images(1), request, videos=videos, output_dir=tmp_path / "out")
    assert done.cost == cny("2.80") and rh_env.counters.money_charged == pytest.approx(2.80)
