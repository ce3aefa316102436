"""The whole job against the emulator: references in, a saved and decodable MP4 out."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from ..runninghub_video.core import errors, waits
from ..runninghub_video.media.decode import decode_video
from ..runninghub_video.core.events import ProgressEvent
from ..runninghub_video.core.money import Money
from ..runninghub_video.run.pipeline import fetch_task, generate
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.words.wording import describe, error_line

from conftest import REF_COLOURS, clip, ending_once_running, solid_images, tone, wait_until

SHORT = dict(duration="2", resolution="480p")
MSG_1004 = "Task not found, please check the task ID | 任务不存在或已过期，请检查任务ID"  # the facts file's words
V2 = dict(model="seedance-2.0", duration="4", resolution="480p")


def test_references_become_a_video_whose_frames_show_them(rh_env, tmp_path):
    events: list[ProgressEvent] = []
    result = generate([solid_images(2), solid_images(1)[:, :, :, :]], VideoRequest("a test", **SHORT),
                      output_dir=tmp_path, on_progress=events.append)
    assert result.video_path.is_file()
    assert result.video_path.parent == (tmp_path / "runninghub").resolve()
    assert result.video_path.name.endswith(f"_{result.task_id}.mp4")
    video = decode_video(result.video_path)
    assert (video.fps, video.frame_count) == (24, 48)
    frame = video.frames[len(video.frames) // 2]
    # three references: bands of the 1st, 2nd and (repeated) 1st colour, left to right
    width = frame.shape[1]
    for band, colour in enumerate([REF_COLOURS[0], REF_COLOURS[1], REF_COLOURS[0]]):
        x = int((band + 0.5) * width / 3)
        assert np.allclose(frame[frame.shape[0] * 3 // 4, x], colour, atol=0.06)
    # the third reference has the same pixels as the first: uploaded once, sent twice
    assert rh_env.counters.submits == 1 and rh_env.counters.uploads == 2
    assert len(next(iter(rh_env.tasks.values())).body["imageUrls"]) == 3
    assert result.cost == Money(Decimal("0.14"), "CNY")


def test_progress_events_follow_the_task_in_order(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.5, run_s=3.0)
    events: list[ProgressEvent] = []
    generate([solid_images(1)], VideoRequest("order", **SHORT), output_dir=tmp_path, on_progress=events.append)
    phases = [e.phase for e in events]
    first = {p: phases.index(p) for p in dict.fromkeys(phases)}
    assert first["upload"] < first["submit"] < first["queued"] < first["running"] < first["download"] < first["done"]
    running = [e for e in events if e.phase == "running"]
    assert all(" elapsed · " in describe(e) for e in running)
    assert events[-1].phase == "done" and events[-1].fraction == 1.0


def test_submit_sends_documented_body_without_seed(rh_env, tmp_path):
    generate([solid_images(1)], VideoRequest("  body check  ", duration="3", resolution="480p",
                                             aspect_ratio="1:1", camera_fixed=True), output_dir=tmp_path)
    (task,) = rh_env.tasks.values()
    body = task.body
    assert body["prompt"] == "body check"
    assert body["duration"] == "3" and body["cameraFixed"] == "true"
    assert body["resolution"] == "480p" and body["aspectRatio"] == "1:1"
    assert "seed" not in body and len(body["imageUrls"]) == 1


def test_queuing_the_same_request_again_reuses_its_video_and_only_a_change_pays(rh_env, tmp_path, monkeypatch):
    """The same references, prompt and options: the saved video, with nothing encoded, uploaded or paid.
    Another audio clip, another model or a variation pays for a new video, and reuses every upload it can."""
    from ..runninghub_video.media import images

    video = clip(tmp_path, 2)

    def queue(audio_s: float = 2, variation: int = 0, **change):
        return generate([solid_images(1)], VideoRequest("again", **{**V2, **change}), videos=[video],
                        audios=[tone(audio_s)], output_dir=tmp_path, variation=variation)

    first = queue()
    encoded: list[str] = []
    original = images.encode_one
    monkeypatch.setattr(images, "encode_one", lambda *a, **kw: encoded.append(kw.get("name")) or original(*a, **kw))
    again = queue()
    assert again.reused and again.video_path == first.video_path and again.task_id == first.task_id
    assert encoded == [] and rh_env.counters.submits == 1 and rh_env.counters.uploads == 3
    assert not queue(audio_s=3).reused and rh_env.counters.submits == 2
    assert not queue(model="seedance-2.0-fast").reused and rh_env.counters.submits == 3  # the model is in the fingerprint
    assert not queue(variation=1).reused and rh_env.counters.submits == 4
    assert rh_env.counters.uploads == 4  # image, video, two audio clips: each uploaded once


def test_fetch_task_downloads_a_task_by_id(rh_env, tmp_path):
    first = generate([solid_images(1)], VideoRequest("fetch me", **SHORT), output_dir=tmp_path)
    first.video_path.unlink()
    again = fetch_task(first.task_id, output_dir=tmp_path)
    assert again.video_path.is_file() and again.task_id == first.task_id
    assert rh_env.counters.submits == 1


def test_a_fetched_task_is_expected_to_take_as_long_as_its_own_options_say(rh_env, tmp_path):
    """A 12 s 720p task is expected to run 12/5 of the model's 5 s time, not the defaults' (no history yet)."""
    from ..runninghub_video.run.estimate import prior_run_seconds

    rh_env.set_clock(queue_s=0.1, run_s=600.0)  # it runs until the fetch was seen waiting for it
    with pytest.raises(errors.WaitTimeoutError) as left:
        generate([solid_images(1)], VideoRequest("long", duration="12", resolution="720p"), output_dir=tmp_path,
                 timeout_s=0.3)
    events: list[ProgressEvent] = []
    seen = ending_once_running(rh_env, events)
    fetch_task(left.value.task_id, output_dir=tmp_path, on_progress=seen)
    waiting = [e for e in events if e.phase in ("queued", "running") and e.eta_s is not None]
    expected = prior_run_seconds("seedance-v1-lite", "720p", "12")
    assert waiting and expected > 2 * prior_run_seconds("seedance-v1-lite", "720p", "5")
    assert all(expected - 10 < e.eta_s <= expected + 60 for e in waiting), [e.eta_s for e in waiting]


@pytest.mark.parametrize("phase", ["upload", "queued", "running", "download"])
def test_cancel_stops_waiting_within_one_second(rh_env, tmp_path, phase):
    rh_env.set_clock(queue_s=30.0 if phase == "queued" else 0.1, run_s=30.0 if phase == "running" else 0.2)
    if phase == "upload":
        rh_env.inject("upload", "delay", seconds=20.0)
    if phase == "download":
        rh_env.inject("download", "slow", bytes_per_s=1_000)
    cancel = threading.Event()
    seen_at: list[float] = []

    def on_progress(event: ProgressEvent) -> None:
        if event.phase == phase and not cancel.is_set():
            seen_at.append(time.monotonic())
            threading.Timer(0.3, cancel.set).start()

    with pytest.raises(errors.Interrupted) as info:
        generate([solid_images(1)], VideoRequest(f"cancel {phase}", **SHORT), output_dir=tmp_path,
                 on_progress=on_progress, should_cancel=cancel.is_set)
    assert seen_at, f"never reached {phase}"
    assert time.monotonic() - seen_at[0] < 0.3 + 1.0
    if phase != "upload":
        assert info.value.task_id and "fetch" in str(info.value)
    assert not list((tmp_path / "runninghub").glob("*.mp4"))
    # nothing is paid twice: one submit at most, charged only once the task itself finished
    assert rh_env.counters.submits == (0 if phase == "upload" else 1)
    assert rh_env.counters.money_charged == pytest.approx(0.14 if phase == "download" else 0.0)


def test_interrupted_task_is_picked_up_by_queuing_again(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.1, run_s=600.0)  # still running when Cancel is seen, however slow the machine
    cancel = threading.Event()
    with pytest.raises(errors.Interrupted):
        generate([solid_images(1)], VideoRequest("resume", **SHORT), output_dir=tmp_path,
                 on_progress=lambda e: e.phase == "running" and cancel.set(), should_cancel=cancel.is_set)
    rh_env.end_tasks_now()  # it finishes on RunningHub meanwhile
    result = generate([solid_images(1)], VideoRequest("resume", **SHORT), output_dir=tmp_path)
    assert result.resumed and not result.reused and result.video_path.is_file()
    assert rh_env.counters.submits == 1


def test_wait_timeout_names_the_task_and_how_to_fetch_it(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.1, run_s=600.0)
    with pytest.raises(errors.WaitTimeoutError) as info:
        generate([solid_images(1)], VideoRequest("slow", **SHORT), output_dir=tmp_path, timeout_s=1.0)
    task_id = info.value.task_id
    assert task_id and task_id in str(info.value) and f"fetch {task_id}" in str(info.value)


def test_status_line_shows_the_estimated_then_the_charged_price(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.1, run_s=600.0)  # it runs until the line was seen running
    events: list[ProgressEvent] = []
    seen = ending_once_running(rh_env, events)
    generate([solid_images(1)], VideoRequest("price", duration="4", resolution="720p"), output_dir=tmp_path,
             on_progress=seen)
    running = [e for e in events if e.state == "RUNNING"]
    assert running and all(describe(e).endswith(" · ≈0.60 CNY") for e in running)
    assert all(e.price == Money(Decimal("0.60"), "CNY") and not e.charged for e in running)
    success = [e for e in events if e.state == "SUCCESS"]
    assert success and success[-1].price == Money(Decimal("0.60"), "CNY") and success[-1].charged
    assert describe(success[-1]).endswith(" · 0.60 CNY")


def test_a_task_cancelled_on_the_site_ends_the_wait_uncharged(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.2, run_s=60.0)

    def someone_cancels_it_on_the_site(event: ProgressEvent) -> None:
        if event.state == "RUNNING" and rh_env.tasks[event.task_id].cancelled_at is None:
            rh_env.cancel_task(event.task_id)

    with pytest.raises(errors.TaskFailedError, match="cancelled on RunningHub") as info:
        generate([solid_images(1)], VideoRequest("cancelled there", **SHORT), output_dir=tmp_path,
                 on_progress=someone_cancels_it_on_the_site)
    assert info.value.task_id and rh_env.counters.submits == 1 and rh_env.counters.money_charged == 0


def test_a_failed_reason_given_as_a_string_reaches_the_user(rh_env, tmp_path):
    rh_env.failed_reason_as_text()
    rh_env.fail_next_tasks(code="1015", message="the model gave up | 生成失败")
    with pytest.raises(errors.TaskFailedError, match="1015.*TaskFailed: the model gave up"):
        generate([solid_images(1)], VideoRequest("string reason", **SHORT), output_dir=tmp_path)
    assert rh_env.counters.money_charged == 0

def test_a_task_being_fetched_holds_a_slot_so_a_new_submit_waits_for_it(rh_env, tmp_path):
    """The account runs one task at a time: waiting on a fetched task counts as that task."""
    from ..runninghub_video.run import slots

    slots._limiters.clear()  # the limit is fetched afresh from this emulator
    rh_env.concurrent_limit = 1
    rh_env.set_clock(queue_s=0.1, run_s=600.0)  # it runs until the second run was seen waiting for its slot
    with pytest.raises(errors.WaitTimeoutError) as left:
        generate([solid_images(1)], VideoRequest("first", duration="2", resolution="480p"), output_dir=tmp_path,
                 timeout_s=0.3)
    rh_env.set_clock(run_s=0.3)
    fetched: list = []
    queries = rh_env.counters.queries
    fetcher = threading.Thread(target=lambda: fetched.append(fetch_task(left.value.task_id, output_dir=tmp_path)))
    fetcher.start()
    wait_until(lambda: rh_env.counters.queries > queries, what="the fetch to hold the slot and ask")
    phases: list[str] = []

    def seen(event: ProgressEvent) -> None:
        phases.append(event.phase)
        if event.phase == "slot":
            rh_env.end_tasks_now()

    second = generate([solid_images(1)], VideoRequest("second", duration="2", resolution="480p"), output_dir=tmp_path,
                      on_progress=seen)
    fetcher.join(10)
    assert fetched and fetched[0].video_path.is_file() and second.video_path.is_file()
    assert "slot" in phases and phases.index("slot") < phases.index("submit")
    assert rh_env.counters.submits == 2


# --- a new task RunningHub cannot find yet ([U]: a fresh task might not be queryable at once) ------
def test_a_new_task_runninghub_cannot_find_at_first_is_still_waited_for_and_delivered_paid_once(
        rh_env, tmp_path, fast_waits):
    waits.use(replace(fast_waits, new_task_not_found_grace_s=30.0))  # a grace no slow machine outlasts
    rh_env.inject("submit", "not_found_at_first", queries=3)
    result = generate([solid_images(1)], VideoRequest("not found at first", **SHORT), output_dir=tmp_path)
    assert result.video_path.is_file() and result.cost == Money(Decimal("0.14"), "CNY")
    assert rh_env.tasks[result.task_id].not_found_answers == 3  # RunningHub did say "not found", three times
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(0.14)



def test_a_new_task_runninghub_never_finds_ends_naming_it_and_queuing_again_picks_it_up_once_it_appears(
        rh_env, tmp_path):
    rh_env.inject("submit", "not_found_at_first", seconds=600)
    request = VideoRequest("never found", **SHORT)
    with pytest.raises(errors.TaskNotFoundError) as info:
        generate([solid_images(1)], request, output_dir=tmp_path, timeout_s=60)
    (task_id,) = rh_env.tasks
    assert rh_env.tasks[task_id].not_found_answers > 1  # "not found" was no reason to stop at once
    assert info.value.task_id == task_id and f"fetch {task_id}" in str(info.value)
    assert error_line(info.value) == (f"RunningHub made task {task_id} but cannot find it yet (1004); it is not sent "
                                      "again: queue again later to ask once more, or fetch it with RunningHub Fetch "
                                      f"Task · RunningHub: {MSG_1004}")
    assert task_id in error_line(info.value, "zh")
    with pytest.raises(errors.TaskNotFoundError) as again:  # queued again while RunningHub still cannot find it
        generate([solid_images(1)], request, output_dir=tmp_path, timeout_s=60)
    assert (again.value.code, again.value.task_id) == ("task_not_found_yet", task_id)  # the same task, not "expired"
    rh_env.skip(600)  # RunningHub shows it at last
    result = generate([solid_images(1)], request, output_dir=tmp_path)
    assert result.task_id == task_id and result.resumed and result.video_path.is_file()
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(0.14)

def test_fetching_an_id_runninghub_does_not_know_says_so_at_once(rh_env, tmp_path, fast_waits):
    """The new-task grace is for tasks the journal saw submitted; a mistyped id is not kept waiting."""
    waits.use(replace(fast_waits, new_task_not_found_grace_s=30.0))
    for fetched in range(1, 3):  # fetched again: its row (of the first fetch) proves no submit either
        with pytest.raises(errors.TaskNotFoundError) as info:
            fetch_task("1" * 19, output_dir=tmp_path)
        assert info.value.code != "task_not_found_yet" and rh_env.counters.queries == fetched


@pytest.mark.parametrize("state", ["QUEUED", "RUNNING"])
def test_cancel_stops_waiting_within_one_second_when_the_next_query_is_far_off(rh_env, tmp_path, fast_waits, state):
    """Queries may be seconds apart (5 s while queued in production); between two of them the wait
    still looks at Cancel often enough. Here the state is the submit's own answer and the next query
    is 30 s off, so Cancel comes while the wait pauses."""
    far = 30.0
    waits.use(replace(fast_waits, query_gap_s=far, queued_first_gap_s=far, queued_max_gap_s=far))
    rh_env.set_clock(queue_s=600.0 if state == "QUEUED" else 0.0, run_s=600.0, create_s=0.0)
    cancel = threading.Event()
    shown: list[ProgressEvent] = []
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(generate, [solid_images(1)], VideoRequest(f"cancel far {state}", **SHORT),
                          output_dir=tmp_path, on_progress=shown.append, should_cancel=cancel.is_set, timeout_s=120)
        wait_until(lambda: run.done() or any(e.state == state for e in shown), what=f"the line to show {state}")
        pressed_at = time.monotonic()
        cancel.set()
        with pytest.raises(errors.Interrupted) as info:
            run.result(timeout=120)
    assert time.monotonic() - pressed_at < 1.0
    assert info.value.task_id and rh_env.counters.queries == 0  # the wait was between the submit and its first query
