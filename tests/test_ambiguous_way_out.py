"""A submit that got no answer: what the node and ComfyUI's dialog say, and that either way out the
error names (the RunningHub tab's field or the Fetch Task node) lets the request be queued again."""
from __future__ import annotations

import time

import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.remote import facts
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.pipeline import fetch_task, generate
from ..runninghub_video.words import wording

from conftest import solid_images, tasks_settled, wait_until


def _run(tmp_path):
    return generate([solid_images(1)], VideoRequest("no answer", duration="2", resolution="480p"),
                    output_dir=tmp_path, timeout_s=60)


def _ambiguous(rh_env, tmp_path) -> errors.AmbiguousSubmitError:
    rh_env.inject("submit", "timeout_after_create", reset=True)  # RunningHub made the task; its answer was lost
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _run(tmp_path)
    return info.value


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_node_says_when_why_where_to_look_and_both_ways_out(rh_env, tmp_path, lang):
    exc = _ambiguous(rh_env, tmp_path)
    line = wording.error_line(exc, lang, site="cn")
    (row,) = Journal().list()
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created_at))
    assert when in line and "reset" in line and facts.SITES["cn"] in line, line
    assert "RunningHub" in line and "Fetch Task" in line and "variation" in line, line
    assert ("RunningHub tab" in line) if lang == "en" else ("RunningHub 标签页" in line and "变体" in line), line


def test_fetching_the_task_by_id_lets_the_original_request_be_queued_again(rh_env, tmp_path):
    _ambiguous(rh_env, tmp_path)
    with pytest.raises(errors.AmbiguousSubmitError):
        _run(tmp_path)  # refused: it may be paid
    wait_until(lambda: tasks_settled(rh_env))
    (task_id,) = rh_env.tasks  # what the person finds in the call records
    fetched = fetch_task(task_id, output_dir=tmp_path)
    again = _run(tmp_path)
    assert again.task_id == task_id and again.reused and again.video_path == fetched.video_path
    assert rh_env.counters.submits == 1


def test_a_run_refused_by_the_budget_shows_why_in_the_tab_and_no_running_clock(rh_env, tmp_path):
    from ..runninghub_video.ledger import inbox
    from ..runninghub_video.run import spend

    spend.set_daily_budget("cn", "0.01")
    with pytest.raises(errors.RunningHubError, match="budget"):
        _run(tmp_path)
    (task,) = inbox.page(limit=5)["tasks"]
    assert task["phase"] == "failed" and "budget" in task["error"] and task["elapsed_s"] is None, task
    assert rh_env.counters.uploads == 0 and rh_env.counters.submits == 0
