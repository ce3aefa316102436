"""Answers that prove nothing never pay twice: a submit answer is a task, no task, or unknown;
a finished task is never paid again to get its video.

Every test counts what RunningHub (the emulator) saw: submits received, tasks made, money charged.
"""
from __future__ import annotations

import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.ledger import inbox
from ..runninghub_video.remote import error_codes
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.pipeline import fetch_task, generate

from conftest import solid_images, tasks_settled, wait_until

PRICE = 0.14  # 480p x 2 s


def _run(prompt: str, tmp_path, **kw):
    return generate([solid_images(1)], VideoRequest(prompt, duration="2", resolution="480p"), output_dir=tmp_path,
                    timeout_s=60, **kw)


def _refused_as_unknown(prompt: str, tmp_path) -> str:
    """Run; the run must stop as an ambiguous submit that says how to recover without paying again."""
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _run(prompt, tmp_path)
    message = str(info.value)
    for words in ("may have created a paid task", "will not send it again", "call records", "Fetch Task"):
        assert words in message, f"{words!r} missing from {message!r}"
    first_advice = message.index("will not send it again")
    assert "variation" not in message[:first_advice]  # the way that pays again is never the first one
    return message


BROKEN_SUBMIT_ANSWERS = [("not_json", 200), ("empty", 200), ("list", 200), ("code_500", 200), ("error_1000", 200),
                         ("html", 400), ("html", 401), ("html", 403), ("html", 404), ("html", 408), ("html", 413),
                         ("task_id_path", 200), ("task_id_long", 200), ("task_id_number", 200)]


@pytest.mark.parametrize("answer, status", BROKEN_SUBMIT_ANSWERS, ids=[f"{a}-{s}" for a, s in BROKEN_SUBMIT_ANSWERS])
def test_a_submit_answer_that_proves_nothing_is_never_sent_again(rh_env, tmp_path, answer, status):
    rh_env.inject("submit", "answer_after_create", answer=answer, status=status)
    message = _refused_as_unknown(f"broken {answer} {status}", tmp_path)
    assert "nothing charged" not in message and "rejected" not in message
    (task_id,) = rh_env.tasks
    if answer == "task_id_number":  # the number is named, so the user can fetch it
        assert task_id in message
    (row,) = inbox.page()["tasks"]
    assert row["phase"] == "ambiguous" and not row["task_id"]
    wait_until(lambda: tasks_settled(rh_env), what="the task to run and be charged")
    _refused_as_unknown(f"broken {answer} {status}", tmp_path)  # queuing the same graph again
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)
    assert not list(tmp_path.rglob("etc")) and not list(tmp_path.rglob("*.part"))


@pytest.mark.parametrize("code", ["1000", "1005", "1010", "1011", "1012", "416", "9999"])
def test_a_submit_error_code_not_known_to_mean_no_task_is_never_sent_again(rh_env, tmp_path, code):
    rh_env.inject("submit", "error_code", code=code)
    message = _refused_as_unknown(f"code {code}", tmp_path)
    assert f"error {code}" in message and "nothing charged" not in message
    _refused_as_unknown(f"code {code}", tmp_path)
    assert rh_env.counters.submits == 1


@pytest.mark.parametrize("code", sorted(set(error_codes.NO_TASK_CODES) - error_codes.RESUBMIT_CODES
                                         - error_codes.REUPLOAD_CODES))  # 1013: re-uploaded at once (test_one_payment)
def test_a_rejection_before_creation_says_nothing_was_charged_and_may_be_queued_again(rh_env, tmp_path, code):
    rh_env.inject("submit", "error_code", code=code)
    with pytest.raises(errors.ApiError) as info:
        _run(f"rejected {code}", tmp_path)
    assert not isinstance(info.value, errors.AmbiguousSubmitError) and info.value.code == code
    assert "nothing charged" in str(info.value)
    assert inbox.page()["tasks"][0]["phase"] == "failed"
    assert _run(f"rejected {code}", tmp_path).video_path.is_file()  # no task was made: this one pays, once
    assert rh_env.counters.submits == 2 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_a_rejection_in_the_v2_shape_but_with_a_task_id_is_a_task(rh_env, tmp_path):
    """A FAILED answer that carries a task id (moderation at submit) is a task: its id is kept."""
    rh_env.fail_next_tasks(code="1501", at="submit")
    with pytest.raises(errors.TaskFailedError) as info:
        _run("moderated at submit", tmp_path)
    (task_id,) = rh_env.tasks
    assert info.value.task_id == task_id and inbox.page()["tasks"][0]["task_id"] == task_id


@pytest.mark.parametrize("shape", ["empty", "png_only", "not_list", "strings"])
def test_success_without_a_video_url_keeps_the_task_and_queuing_again_asks_for_it(rh_env, tmp_path, shape):
    rh_env.break_results(shape, count=20)  # every SUCCESS answer of this wait is broken
    with pytest.raises(errors.RunningHubError) as info:
        _run(f"no url {shape}", tmp_path)
    (task_id,) = rh_env.tasks
    message = str(info.value)
    assert info.value.task_id == task_id and task_id in message and "paid" in message
    assert message.index("Queue the same graph again") < message.index("never submits")
    assert "variation" not in message
    (row,) = inbox.page()["tasks"]
    assert row["task_id"] == task_id and row["recoverable"]
    with pytest.raises(errors.RunningHubError):
        _run(f"no url {shape}", tmp_path)  # still no URL: asked again, not paid again
    with rh_env.state.lock:
        rh_env.state.broken_results.clear()
    result = _run(f"no url {shape}", tmp_path)  # RunningHub has the URL now: downloaded, not paid again
    assert result.task_id == task_id and result.video_path.is_file()
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_fetch_of_a_success_without_a_video_url_names_the_task_and_fetches_it_later(rh_env, tmp_path):
    first = _run("fetch later", tmp_path)
    first.video_path.unlink()
    rh_env.break_results("empty")
    with pytest.raises(errors.RunningHubError, match=first.task_id):
        fetch_task(first.task_id, output_dir=tmp_path)
    assert fetch_task(first.task_id, output_dir=tmp_path).video_path.is_file()
    assert rh_env.counters.submits == 1
