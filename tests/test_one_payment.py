"""One request, one payment: overlapping runs, dead processes and lost answers never pay twice.

Every test counts what RunningHub (the emulator) saw: submits received and money charged.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from ..runninghub_video.core import errors, waits
from ..runninghub_video.remote.config import Settings
from ..runninghub_video.emulator import Emulator
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.core.money import Money

from conftest import child_command, solid_image_args, solid_images, tasks_settled, wait_until

PRICE = 0.14  # 480p x 2 s
ROOT = Path(__file__).resolve().parents[1]
CHILD = """
    import numpy as np
    from runninghub_video.core import errors
    from runninghub_video.run.pipeline import generate
    from runninghub_video.remote.request import VideoRequest
    images = np.array([[[colour] * 48] * 64 for colour in json.loads(sys.argv[3])], np.float32)  # solid_images(1)
    try:
        r = generate([images], VideoRequest(sys.argv[2], duration="2", resolution="480p"),
                     output_dir=sys.argv[1], timeout_s=60)
        print(json.dumps({"task_id": r.task_id, "path": str(r.video_path), "reused": r.reused}))
    except errors.RunningHubError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def _child(tmp_path: Path, prompt: str) -> subprocess.Popen:
    return subprocess.Popen(child_command(CHILD, tmp_path, prompt, solid_image_args(1)), env=dict(os.environ),
                            stdout=subprocess.PIPE, text=True)


def _outcome(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, out
    return json.loads(out.strip().splitlines()[-1])


def _run(prompt: str, tmp_path: Path, **kw):
    return generate([solid_images(1)], VideoRequest(prompt, duration="2", resolution="480p"), output_dir=tmp_path,
                    timeout_s=60, **kw)


def _in_threads(count: int, prompt: str, tmp_path: Path) -> list:
    """``count`` runs of one request at once (like identical nodes of one prompt); their results."""
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(_run(prompt, tmp_path))) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return results


# --- overlapping runs ------------------------------------------------------------------------
def test_two_processes_started_together_pay_once_and_get_the_same_video(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.2, run_s=1.0)
    procs = [_child(tmp_path, "two at once") for _ in range(2)]
    a, b = (_outcome(p) for p in procs)
    assert a["task_id"] == b["task_id"] and Path(a["path"]).is_file() and Path(b["path"]).is_file()
    assert rh_env.counters.submits == 1 and rh_env.counters.uploads == 1
    assert rh_env.counters.money_charged == pytest.approx(PRICE)


def test_a_second_process_started_while_the_first_uploads_waits_for_it(rh_env, tmp_path):
    rh_env.inject("upload", "delay", seconds=2.0)
    first = _child(tmp_path, "one second later")
    wait_until(lambda: rh_env.counters.uploads == 1)
    second = _child(tmp_path, "one second later")
    a, b = _outcome(first), _outcome(second)
    assert a["task_id"] == b["task_id"] and b["reused"]
    assert rh_env.counters.submits == 1 and rh_env.counters.uploads == 1
    assert rh_env.counters.money_charged == pytest.approx(PRICE)


def test_two_identical_nodes_in_one_prompt_share_one_task(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.2, run_s=1.0)
    results = _in_threads(2, "twins", tmp_path)
    assert len(results) == 2 and results[0].task_id == results[1].task_id
    assert results[0].video_path == results[1].video_path and results[0].video_path.is_file()
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_eight_threads_and_two_processes_on_one_request_pay_once(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.3, run_s=1.0)
    procs = [_child(tmp_path, "crowd") for _ in range(2)]
    results = _in_threads(8, "crowd", tmp_path)
    outcomes = [_outcome(p) for p in procs]
    assert len(results) == 8 and {r.task_id for r in results} == {o["task_id"] for o in outcomes}
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


# --- dead processes --------------------------------------------------------------------------
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_killed_during_the_submit_then_queued_again_is_explained_never_resent(rh_env, tmp_path, how):
    # RunningHub makes the task but is slow to answer: the child is stopped while the answer is on its way
    rh_env.inject("submit", "timeout_after_create", seconds=60.0)
    child = _child(tmp_path, "killed in submit")
    wait_until(lambda: rh_env.counters.submits_accepted == 1, what="the task to be made")
    child.send_signal(how)
    child.communicate(timeout=30)
    wait_until(lambda: tasks_settled(rh_env), what="the orphaned task to run and be charged")
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _run("killed in submit", tmp_path)
    message = str(info.value)
    assert "killed in submit" in message and "2 s, 480p" in message and "(local time)" in message
    assert "call records" in message and "Fetch Task" in message and "variation" in message
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)
    again = _run("killed in submit", tmp_path, variation=1)  # the second way out: pay for a new one
    assert again.video_path.is_file() and rh_env.counters.submits == 2


def test_killed_while_uploading_then_queued_again_submits_once(rh_env, tmp_path):
    rh_env.inject("upload", "delay", seconds=30.0)
    child = _child(tmp_path, "killed in upload")
    wait_until(lambda: rh_env.counters.uploads == 1)
    child.kill()
    child.communicate(timeout=30)
    result = _run("killed in upload", tmp_path)  # nothing was submitted: the claim is taken over
    assert result.video_path.is_file() and not result.reused
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_a_claim_whose_owner_stopped_heartbeating_is_taken_over(rh_env, tmp_path, monkeypatch):
    from ..runninghub_video.ledger import journal as journal_module
    from ..runninghub_video.remote.config import load_settings
    from ..runninghub_video.media.images import prepare_references

    request = VideoRequest("stale claim", duration="2", resolution="480p").validated()
    hashes = [r.sha256 for r in prepare_references([solid_images(1)])]
    fp = journal_module.fingerprint(site="cn", model=request.model, options=request.options(),
                                    reference_hashes=hashes, variation=0)
    # a claim (still uploading: nothing sent) of a process on another machine that stopped refreshing it
    with monkeypatch.context() as other_machine:
        other_machine.setattr(journal_module, "HOST", "another-machine")
        other_machine.setattr(journal_module, "PROCESS_TOKEN", "someone-else")
        stale = Journal().claim(fp, load_settings().endpoint, site="cn", model=request.model, request={},
                                variation=0, now=time.time() - waits.current().stale_after_s - 1)
    assert stale.action == "new"
    result = _run("stale claim", tmp_path)
    assert result.video_path.is_file() and rh_env.counters.submits == 1
    assert Journal().row(stale.row.id).state == "abandoned"


# --- lost or refused answers -----------------------------------------------------------------
@pytest.mark.parametrize("status", [502, 504])
def test_gateway_error_on_submit_before_the_task_exists_is_ambiguous_and_names_it(rh_env, tmp_path, status):
    rh_env.inject("submit", "http_error", status=status)
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _run(f"gateway {status}", tmp_path)
    assert f"HTTP {status}" in str(info.value) and "Max retries" not in str(info.value)
    with pytest.raises(errors.AmbiguousSubmitError):
        _run(f"gateway {status}", tmp_path)  # queuing again refuses too
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == 0


def test_gateway_timeout_after_the_task_was_created_is_ambiguous_and_never_resent(rh_env, tmp_path):
    rh_env.inject("submit", "timeout_after_create", seconds=0.1, status=504)
    with pytest.raises(errors.AmbiguousSubmitError, match="HTTP 504"):
        _run("created then 504", tmp_path)
    wait_until(lambda: tasks_settled(rh_env), what="the created task to run and be charged")
    with pytest.raises(errors.AmbiguousSubmitError):
        _run("created then 504", tmp_path)
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_reset_after_submit_shows_the_reset_not_max_retries(rh_env, tmp_path):
    rh_env.inject("submit", "timeout_after_create", seconds=0.1, reset=True)
    with pytest.raises(errors.AmbiguousSubmitError) as info:
        _run("reset", tmp_path)
    assert "reset" in str(info.value) or "closed the connection" in str(info.value)
    assert "Max retries" not in str(info.value) and "HTTPConnectionPool" not in str(info.value)
    assert rh_env.counters.submits == 1


def test_a_run_refused_before_anything_left_is_not_ambiguous_and_can_be_queued_again(rh_env, tmp_path):
    closed = Settings(rh_env.api_key, "cn", "http://127.0.0.1:9")  # nothing listens on port 9
    for _ in range(2):
        with pytest.raises(errors.TransportError) as info:
            _run("never left", tmp_path, settings=closed)
        assert not isinstance(info.value, errors.AmbiguousSubmitError)
        assert "connection was refused" in str(info.value) and "Max retries" not in str(info.value)
    assert [row.state for row in Journal().list()] == ["abandoned", "abandoned"]
    assert rh_env.counters.requests_total == 0


def test_task_failing_1013_after_its_upload_expired_reuploads_when_queued_again(rh_env, tmp_path):
    _run("first prompt", tmp_path)
    rh_env.expire_uploads(seen_at="task")  # the cached reference URL lapses
    with pytest.raises(errors.ApiError, match="1013"):
        _run("second prompt, same reference", tmp_path)
    result = _run("second prompt, same reference", tmp_path)
    assert result.video_path.is_file()
    assert rh_env.counters.uploads == 2 and rh_env.counters.submits == 3
    assert rh_env.counters.money_charged == pytest.approx(2 * PRICE)  # the failed task is not charged


# --- where a video belongs -------------------------------------------------------------------
def test_a_video_made_on_one_endpoint_is_never_returned_for_another(rh_env, tmp_path):
    first = _run("endpoint", tmp_path)
    with Emulator(api_key=rh_env.api_key, queue_s=0.1, run_s=0.3) as other:
        second = _run("endpoint", tmp_path, settings=Settings(other.api_key, "cn", other.base_url))
        assert not second.reused and second.task_id != first.task_id
        assert other.counters.submits == 1
    assert rh_env.counters.submits == 1


def test_the_charge_is_read_from_either_usage_field(rh_env, tmp_path):
    rh_env.charge_in("thirdPartyConsumeMoney")
    result = _run("third party money", tmp_path)
    assert result.cost == Money(Decimal("0.14"), "CNY") and rh_env.counters.money_charged == pytest.approx(PRICE)
