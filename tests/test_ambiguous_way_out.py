"""A submit that got no answer: what the node and ComfyUI's dialog say, and that either way out the
error names (the RunningHub tab's field or the Fetch Task node) lets the request be queued again."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.ledger import inbox
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
    assert "RunningHub" in line and ("Fetch Task" if lang == "en" else "取回任务") in line and "variation" in line, line
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


def _made_elsewhere(rh_env, tmp_path, monkeypatch, **options: str) -> str:
    """A task made by another machine with the same key (its own journal): the person may find its id
    in the call records beside the unanswered submit's. ``options``: where its request differs."""
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "other machine"))
    request = VideoRequest("another graph", **{"duration": "2", "resolution": "480p", **options})
    task_id = generate([solid_images(1)], request, output_dir=tmp_path / "elsewhere", timeout_s=60).task_id
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
    return task_id


def _still_refused(rh_env, tmp_path, submits: int) -> None:
    with pytest.raises(errors.AmbiguousSubmitError):
        _run(tmp_path)
    assert rh_env.counters.submits == submits  # nothing paid again


def test_fetching_the_task_tells_the_user_it_answers_the_unanswered_submit(rh_env, tmp_path):
    _ambiguous(rh_env, tmp_path)
    wait_until(lambda: tasks_settled(rh_env))
    (task_id,) = rh_env.tasks
    fetched = fetch_task(task_id, output_dir=tmp_path)
    assert fetched.note is not None and "queuing that request again reuses this video" in fetched.note.text()
    (task,) = inbox.page()["tasks"]  # the tab shows the request's row with the fetched video, once
    assert task["task_id"] == task_id and task["prompt"] == "no answer" and task["phase"] == "saved", task


@pytest.mark.parametrize("differs, why", [({"duration": "3"}, "the video lasts 3.0 s, that request asked for 2 s"),
                                          ({"aspect_ratio": "9:16"}, "that request asked for 16:9")])
def test_fetching_another_graphs_task_leaves_the_request_refused_and_says_how_to_unblock_it(
        rh_env, tmp_path, monkeypatch, differs, why):
    _ambiguous(rh_env, tmp_path)
    other = _made_elsewhere(rh_env, tmp_path, monkeypatch, **differs)  # the wrong line of the call records
    fetched = fetch_task(other, output_dir=tmp_path)
    assert fetched.task_id == other and fetched.video_path.is_file()  # still a plain fetch of that video
    line = fetched.note.text()
    assert "not taken as the answer" in line and why in line, line
    assert "Recover this id" in line and "variation" in line, line
    assert "找回此 ID" in fetched.note.text("zh")  # the button as the Chinese tab names it
    _still_refused(rh_env, tmp_path, submits=2)  # the request is not handed the other graph's video


def test_a_task_runninghub_says_ran_longer_than_the_time_since_the_submit_is_not_its_answer(
        rh_env, tmp_path, monkeypatch):
    _ambiguous(rh_env, tmp_path)
    other = _made_elsewhere(rh_env, tmp_path, monkeypatch)  # same options: only its age tells it apart
    rh_env.report_cost_time_as(3600)  # it took an hour, so it was made before the submit
    line = fetch_task(other, output_dir=tmp_path).note.text()
    assert "took 1:00:00" in line, line
    _still_refused(rh_env, tmp_path, submits=2)


def test_a_task_fetched_before_the_submit_is_not_its_answer_when_fetched_again(rh_env, tmp_path, monkeypatch):
    other = _made_elsewhere(rh_env, tmp_path, monkeypatch)  # same options as the request below
    fetch_task(other, output_dir=tmp_path)
    _ambiguous(rh_env, tmp_path)
    again = fetch_task(other, output_dir=tmp_path)
    assert again.reused and "knew the task before that submit" in again.note.text()
    _still_refused(rh_env, tmp_path, submits=2)


def test_a_task_with_a_last_frame_image_is_not_the_answer_of_a_submit_that_asked_for_none(
        rh_env, tmp_path, monkeypatch):
    v2 = dict(model="seedance-2.0", duration="4", resolution="480p")
    rh_env.inject("submit", "timeout_after_create", reset=True)
    with pytest.raises(errors.AmbiguousSubmitError):
        generate([solid_images(1)], VideoRequest("no frame", **v2), output_dir=tmp_path, timeout_s=60)
    other = _made_elsewhere(rh_env, tmp_path, monkeypatch, **v2, last_frame=True)
    line = fetch_task(other, output_dir=tmp_path).note.text()
    assert "returned a last-frame image that request did not ask for" in line, line


def test_the_cli_fetch_says_how_to_unblock_a_request_it_could_not_match(rh_env, tmp_path, monkeypatch, capsys):
    from ..runninghub_video.cli import main

    _ambiguous(rh_env, tmp_path)
    other = _made_elsewhere(rh_env, tmp_path, monkeypatch, duration="3")
    capsys.readouterr()
    assert main(["fetch", other, "--output-dir", str(tmp_path / "cli")]) == 0
    said = capsys.readouterr()
    assert "not taken as the answer" in said.err and "Recover this id" in said.err, said.err
    assert Path(said.out.strip().splitlines()[-1]).is_file()


def test_with_two_unanswered_submits_a_fetch_answers_neither(rh_env, tmp_path):
    _ambiguous(rh_env, tmp_path)
    rh_env.inject("submit", "timeout_after_create", reset=True)
    with pytest.raises(errors.AmbiguousSubmitError):
        generate([solid_images(1)], VideoRequest("no answer either", duration="2", resolution="480p"),
                 output_dir=tmp_path, timeout_s=60)
    wait_until(lambda: tasks_settled(rh_env))
    first = next(t for t, task in rh_env.tasks.items() if task.body["prompt"] == "no answer")
    line = fetch_task(first, output_dir=tmp_path).note.text()
    assert "2 submits of this site got no answer" in line and "Recover this id" in line, line
    _still_refused(rh_env, tmp_path, submits=2)


def test_a_run_refused_by_the_budget_shows_why_in_the_tab_and_no_running_clock(rh_env, tmp_path):
    from ..runninghub_video.run import spend

    spend.set_daily_budget("cn", "0.01")
    with pytest.raises(errors.RunningHubError, match="budget"):
        _run(tmp_path)
    (task,) = inbox.page(limit=5)["tasks"]
    assert task["phase"] == "failed" and "budget" in task["error"] and task["elapsed_s"] is None, task
    assert rh_env.counters.uploads == 0 and rh_env.counters.submits == 0
