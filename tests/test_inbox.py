"""The task inbox (runninghub_video.ledger.inbox) and the spend guard (runninghub_video.run.spend), with real
runs against the emulator: what the RunningHub tab and `list` show, what a day cost, and a budget
that refuses a run before anything is uploaded."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from conftest import solid_images
from ..runninghub_video.core import errors
from ..runninghub_video.remote import facts
from ..runninghub_video.ledger import inbox
from ..runninghub_video.run import pipeline, spend
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.remote.models import V1_LITE
from ..runninghub_video.core.money import Money
from ..runninghub_video.remote.request import VideoRequest


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def claimed(journal: Journal, fp: str, request: dict) -> int:
    """A run's row before its submit answered (claimed by this process, no task id yet)."""
    return journal.claim(fp, "cn", site="cn", model="seedance-v1-lite", request=request, variation=0).row.id


def run(tmp_path, prompt: str, count: int = 1, duration: str = "2", resolution: str = "480p", **kw):
    return pipeline.generate(solid_images(count), VideoRequest(prompt=prompt, duration=duration,
                                                               resolution=resolution),
                             output_dir=tmp_path / "out", **kw)


def test_every_task_is_listed_newest_first_with_what_it_was_and_what_it_cost(rh_env, tmp_path):
    first = run(tmp_path, "a red ball rolls")
    second = run(tmp_path, "a green cube spins " * 20, count=2, duration="3", resolution="720p")
    tasks = inbox.page()["tasks"]
    assert [t["task_id"] for t in tasks] == [second.task_id, first.task_id]
    newest = tasks[0]
    assert newest["phase"] == "saved" and newest["state"] == "downloaded"
    assert newest["model"] == V1_LITE.id and newest["site"] == "cn"
    assert newest["prompt"].startswith("a green cube spins") and newest["prompt"].endswith("…")
    assert len(newest["prompt"]) == inbox.PROMPT_EXCERPT + 1
    assert newest["options"] == {"duration": "3", "resolution": "720p", "aspectRatio": "16:9", "cameraFixed": "false"}
    assert newest["cost"] == pytest.approx(0.45) and newest["currency"] == "CNY"
    assert newest["video_path"] == str(second.video_path) and newest["recoverable"] is False
    assert newest["elapsed_s"] >= 0 and newest["created_at"] <= newest["finished_at"]
    assert newest["lookup_url"] == f"https://www.runninghub.cn/call-api/call-record-detail/{second.task_id}"


def test_the_days_total_matches_what_the_emulator_charged(rh_env, tmp_path):
    for i, (duration, resolution) in enumerate([("2", "480p"), ("5", "720p"), ("3", "480p")]):
        run(tmp_path, f"run {i}", duration=duration, resolution=resolution)
    run(tmp_path, "run 0")  # the same request again: reused, not charged
    pipeline.fetch_task(next(iter(rh_env.tasks)), output_dir=tmp_path / "other")  # fetched again: not charged
    totals = inbox.totals()
    assert rh_env.counters.submits == 3
    assert totals["today"] == [{"site": "cn", "currency": "CNY", "amount": pytest.approx(rh_env.counters.money_charged),
                                "tasks": 3}]
    assert totals["month"] == totals["today"]
    assert inbox.spent_today("cn")[0].number() == pytest.approx(rh_env.counters.money_charged)


def test_totals_count_each_day_and_month_in_local_time(rh_env, tmp_path):
    journal = Journal()
    now = time.time()
    for n, (when, cost) in enumerate(((now, "1.25"), (inbox.day_start(now) - 60, "2"),
                                      (inbox.month_start(now) - 60, "4"))):
        row = journal.record(str(10**18 + n), site="cn", endpoint="cn", state="QUEUED", fingerprint="fp",
                            request={"prompt": "x"})
        journal.update(row, state="SUCCESS", cost=cny(cost), finished_at=when)
    totals = inbox.totals(now=now)
    assert totals["today"][0]["amount"] == pytest.approx(1.25)
    month = 1.25 + (2 if inbox.day_start(now) - 60 >= inbox.month_start(now) else 0)
    assert totals["month"][0]["amount"] == pytest.approx(month)


def test_a_long_journal_comes_a_page_at_a_time(rh_env):
    journal = Journal()
    rows = [claimed(journal, f"fp{i}", {"prompt": f"task {i}"}) for i in range(7)]
    first = inbox.page(limit=3)
    assert [t["row"] for t in first["tasks"]] == rows[:-4:-1]
    claimed(journal, "late", {"prompt": "arrives while paging"})  # does not shift the next page
    second = inbox.page(limit=3, before=first["next"])
    third = inbox.page(limit=3, before=second["next"])
    assert [t["row"] for t in second["tasks"] + third["tasks"]] == rows[3::-1]
    assert third["next"] is None
    with pytest.raises(errors.ValidationError, match="cursor"):
        inbox.page(before="yesterday")


def test_a_task_whose_file_was_deleted_can_be_recovered(rh_env, tmp_path):
    done = run(tmp_path, "keep me")
    done.video_path.unlink()
    (task,) = inbox.page()["tasks"]
    assert task["phase"] == "ready" and task["recoverable"] is True and task["video_path"] == ""
    again = pipeline.fetch_task(task["task_id"], output_dir=tmp_path / "out")
    assert again.video_path.is_file()
    assert inbox.page()["tasks"][0]["phase"] == "saved"
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(0.14)


def test_a_lost_file_older_than_a_day_reads_expired_not_recoverable(rh_env, tmp_path):
    done = run(tmp_path, "long ago")
    done.video_path.unlink()
    (task,) = inbox.page(now=time.time() + facts.RESULT_URL_LIFETIME_S + 60)["tasks"]
    assert task["phase"] == "expired" and task["recoverable"] is False


def test_an_ambiguous_submit_shows_when_what_and_where_to_look(rh_env, tmp_path):
    rh_env.inject("submit", "timeout_after_create", seconds=0.1, reset=True)
    before = time.time()
    with pytest.raises(errors.AmbiguousSubmitError):
        run(tmp_path, "did this get paid?")
    (task,) = inbox.page()["tasks"]
    assert task["phase"] == "ambiguous" and task["task_id"] is None and task["recoverable"] is False
    assert task["created_at"] >= before - 1 and task["prompt"] == "did this get paid?"
    assert task["options"]["duration"] == "2" and task["elapsed_s"] is None
    assert task["lookup_url"] == facts.SITES["cn"]  # no id: the site's call records, from its home page


def test_a_submit_cut_off_long_ago_counts_as_ambiguous(rh_env):
    journal = Journal()
    journal.start_submit(claimed(journal, "fp", {"prompt": "crashed during submit"}))
    later = time.time() + inbox.STALE_SUBMIT_S + 1
    assert inbox.page()["tasks"][0]["phase"] == "submitting"
    assert inbox.page(now=later)["tasks"][0]["phase"] == "ambiguous"


def test_following_a_task_hides_its_recovery(rh_env):
    journal = Journal()
    journal.record("2000000000000000001", site="cn", endpoint="cn", state="RUNNING", fingerprint="fp",
                        request={"prompt": "x"})
    with inbox.following("2000000000000000001"):
        assert inbox.page()["tasks"][0]["recoverable"] is False
        assert inbox.page()["tasks"][0]["followed"] is True
    assert inbox.page()["tasks"][0]["recoverable"] is True


# --- the spend guard -----------------------------------------------------------------------
def test_there_is_no_budget_by_default(rh_env, tmp_path):
    assert spend.daily_budgets() == {}
    run(tmp_path, "no limit", duration="12", resolution="720p")
    assert rh_env.counters.submits == 1


def test_a_run_over_the_daily_budget_is_refused_before_any_upload(rh_env, tmp_path):
    spend.set_daily_budget("cn", 1.0)
    run(tmp_path, "fits", duration="5", resolution="720p")  # 0.75 of 1.00
    uploads, requests = rh_env.counters.uploads, rh_env.counters.requests_total
    with pytest.raises(spend.BudgetExceededError) as refused:
        run(tmp_path, "does not fit", count=2, duration="5", resolution="720p")
    assert rh_env.counters.uploads == uploads and rh_env.counters.submits == 1
    assert rh_env.counters.requests_total == requests + 1  # the price preview alone
    text = str(refused.value)
    assert "0.75 CNY" in text and "1.00 CNY" in text and "spent today on .cn: 0.75 CNY" in text
    assert refused.value.day == spend.Day("cn", budget=cny("1"), spent=cny("0.75"), charged_tasks=1,
                                          running=cny("0"), running_tasks=0)
    assert (refused.value.price, refused.value.price_source) == (cny("0.75"), "preview")
    run(tmp_path, "fits", duration="5", resolution="720p")  # a re-run reuses its video: never refused
    spend.set_daily_budget("cn", 2.0)
    run(tmp_path, "now it fits", count=2, duration="5", resolution="720p")
    assert rh_env.counters.submits == 2


def test_the_budget_asks_the_price_preview_without_uploading_anything(rh_env, tmp_path):
    from ..nodes import routes

    routes._cache.clear()
    assert routes.price("cn", "5", "720p")["source"] == "preview"
    spend.set_daily_budget("cn", 0.5)
    uploads, previews = rh_env.counters.uploads, rh_env.counters.price_previews
    with pytest.raises(spend.BudgetExceededError, match="price preview"):
        run(tmp_path, "too long", duration="5", resolution="720p")
    assert rh_env.counters.price_previews == previews + 1 and rh_env.counters.uploads == uploads == 0


def test_tasks_still_running_count_against_the_budget(rh_env, tmp_path):
    journal = Journal()
    journal.record("2000000000000000002", site="cn", endpoint="cn", state="RUNNING", fingerprint="fp",
                        request={"prompt": "x", "duration": "5", "resolution": "720p"})
    spend.set_daily_budget("cn", 1.0)
    with pytest.raises(spend.BudgetExceededError, match="0.75 CNY estimated for 1 task"):
        run(tmp_path, "second", duration="5", resolution="720p")
    assert rh_env.counters.submits == 0


def test_parallel_runs_cannot_all_pass_against_the_same_spend(rh_env):
    """Nodes of one prompt run at once: each is claimed before its check, and the earlier claim passes."""
    from ..runninghub_video.remote.api import RunningHubClient
    from ..runninghub_video.remote.config import load_settings

    spend.set_daily_budget("cn", 1.0)
    journal = Journal()
    options = {"prompt": "x", "duration": "5", "resolution": "720p"}
    first, second = claimed(journal, "first", options), claimed(journal, "second", options)
    request = VideoRequest(prompt="x", duration="5", resolution="720p").validated()
    with RunningHubClient(load_settings()) as client:
        with pytest.raises(spend.BudgetExceededError, match="0.75 CNY estimated for 1 task"):
            spend.check_budget(client, "cn", request, row_id=second)  # checked first, claimed later
        spend.check_budget(client, "cn", request, row_id=first)
    assert spend.status("cn").running == cny("1.5") and spend.status("cn").running_tasks == 2
    assert rh_env.counters.submits == 0


def test_a_budget_is_a_plain_amount_or_nothing(rh_env):
    assert spend.set_daily_budget("cn", "2.5") == {"cn": cny("2.5")}
    assert spend.set_daily_budget("ai", 0) == {"cn": cny("2.5"), "ai": Money(Decimal(0), "USD")}
    for bad in ("lots", -1, float("nan"), True, 10**9):
        with pytest.raises(errors.ValidationError, match="daily budget"):
            spend.set_daily_budget("cn", bad)
    with pytest.raises(errors.ConfigError):
        spend.set_daily_budget("eu", 1)
    assert spend.set_daily_budget("cn", None) == {"ai": Money(Decimal(0), "USD")}


# --- the CLI's list: the same facts --------------------------------------------------------
def test_cli_list_shows_the_inbox_and_the_spend(rh_env, tmp_path, capsys):
    import json

    from ..runninghub_video.cli import main

    done = run(tmp_path, "listed in the terminal")
    done.video_path.unlink()
    capsys.readouterr()
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert done.task_id in out and "0.14 CNY" in out and "listed in the terminal" in out
    assert f"recoverable: fetch {done.task_id}" in out and V1_LITE.id in out and "2 s · 480p · 16:9" in out and "false" not in out
    assert "spent today: 0.14 CNY on .cn (1 task(s))" in out
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (task,) = data["tasks"]
    assert task["task_id"] == done.task_id and task["recoverable"] is True and task["cost"] == 0.14
    assert task["options"]["resolution"] == "480p" and task["prompt"] == "listed in the terminal"
    assert data["totals"] == inbox.totals() and data["next"] is None


def test_cli_list_pages_with_before(rh_env, capsys):
    from ..runninghub_video.cli import main

    journal = Journal()
    for i in range(3):
        claimed(journal, f"fp{i}", {"prompt": f"page task {i}"})
    assert main(["list", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "page task 2" in out and "page task 0" not in out
    cursor = out.split("more: --before ")[1].split()[0]
    assert main(["list", "--limit", "2", "--before", cursor]) == 0
    assert "page task 0" in capsys.readouterr().out
