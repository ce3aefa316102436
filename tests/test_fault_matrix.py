"""The fault matrix: every fault the emulator can inject, with the outcome a user sees, the number
of submits RunningHub received and the money charged. 0 double charges, 0 lost results.

docs/fault-matrix.md is written from these tables (tests/fault_matrix_doc.py); the last test here keeps it current.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Callable

import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.run.pipeline import fetch_task, generate
from ..runninghub_video.remote.request import VideoRequest

from conftest import child_command, solid_image_args, solid_images, tasks_settled, wait_until

PRICE = 0.14  # 480p x 2 s at 0.07 CNY/s
VIDEO = "video"


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable
    outcome: object  # VIDEO, or the error class the user sees
    submits: int = 1
    charged: float = PRICE
    says: tuple = ()  # what the error must tell the user; "{task}" is the task RunningHub created


FAULTS = [
    Fault("upload: burst of 429", lambda e: e.inject("upload", "http_error", count=3, status=429, retry_after=0), VIDEO),
    Fault("upload: burst of 500", lambda e: e.inject("upload", "http_error", count=3, status=500), VIDEO),
    Fault("upload: burst of 503", lambda e: e.inject("upload", "http_error", count=3, status=503), VIDEO),
    Fault("upload: connection resets", lambda e: e.inject("upload", "reset", count=2), VIDEO),
    Fault("query: burst of 429", lambda e: e.inject("query", "http_error", count=4, status=429, retry_after=0), VIDEO),
    Fault("query: burst of 500", lambda e: e.inject("query", "http_error", count=4, status=500), VIDEO),
    Fault("query: burst of 503", lambda e: e.inject("query", "http_error", count=4, status=503), VIDEO),
    Fault("query: connection resets", lambda e: e.inject("query", "reset", count=3), VIDEO),
    Fault("query: longer outage than urllib3 retries", lambda e: e.inject("query", "http_error", count=12, status=503), VIDEO),
    Fault("download: burst of 429", lambda e: e.inject("download", "http_error", count=3, status=429, retry_after=0), VIDEO),
    Fault("download: burst of 500", lambda e: e.inject("download", "http_error", count=3, status=500), VIDEO),
    Fault("download: burst of 503", lambda e: e.inject("download", "http_error", count=3, status=503), VIDEO),
    Fault("download: connection resets", lambda e: e.inject("download", "reset", count=2), VIDEO),
    Fault("download: truncated body (resumed with Range)", lambda e: e.inject("download", "truncate", count=2, fraction=0.4), VIDEO),
    Fault("download: slow body", lambda e: e.inject("download", "slow", bytes_per_s=400_000), VIDEO),
    Fault("submit: 1003 rate limit, then accepted", lambda e: e.inject("submit", "error_code", count=2, code="1003"), VIDEO, submits=3),
    Fault("submit: 421 queue full, then accepted", lambda e: e.inject("submit", "error_code", count=2, code="421"), VIDEO, submits=3),
    Fault("submit: 1011 busy (does not prove no task: never re-sent)",
          lambda e: e.inject("submit", "error_code", count=1, code="1011"), errors.AmbiguousSubmitError, charged=0.0,
          says=("may have created a paid task", "error 1011", "will not send it again", "Fetch Task")),
    Fault("submit: answer not JSON after the task was created",
          lambda e: e.inject("submit", "answer_after_create", answer="not_json"), errors.AmbiguousSubmitError,
          says=("may have created a paid task", "not JSON", "will not send it again", "Fetch Task")),
    Fault("submit: HTML 403 page after the task was created",
          lambda e: e.inject("submit", "answer_after_create", answer="html", status=403), errors.AmbiguousSubmitError,
          says=("may have created a paid task", "HTTP 403", "will not send it again")),
    Fault("submit: errorCode 1000 after the task was created",
          lambda e: e.inject("submit", "answer_after_create", answer="error_1000"), errors.AmbiguousSubmitError,
          says=("may have created a paid task", "error 1000", "will not send it again")),
    Fault("submit: task id '../../etc/x' after the task was created",
          lambda e: e.inject("submit", "answer_after_create", answer="task_id_path"), errors.AmbiguousSubmitError,
          says=("may have created a paid task", "not a RunningHub task id", "will not send it again")),
    Fault("query: a new task not found (1004) at first", lambda e: e.inject("submit", "not_found_at_first", queries=1),
          VIDEO),
    Fault("query: a new task never found (1004)", lambda e: e.inject("submit", "not_found_at_first", seconds=600),
          errors.TaskNotFoundError, says=("RunningHub made task {task}", "1004", "fetch {task}")),
    Fault("query: SUCCESS without a video URL", lambda e: e.break_results("empty", count=20), errors.DownloadError,
          says=("{task}", "it is paid", "never submits it anew", "Fetch Task")),
    Fault("submit: answer lost after the task was created", lambda e: e.inject("submit", "timeout_after_create", seconds=0.3, reset=True),
          errors.AmbiguousSubmitError, charged=PRICE, says=("may have created a paid task", "connection was reset",
                                                           "will not send it again", "Fetch Task", "variation")),
    Fault("task FAILED 1501 moderation", lambda e: e.fail_next_tasks(code="1501"), errors.TaskFailedError, charged=0.0,
          says=("Task {task} failed", "1501", "not charged")),
    Fault("task FAILED 1504 model timeout", lambda e: e.fail_next_tasks(code="1504"), errors.TaskFailedError,
          charged=0.0, says=("Task {task} failed", "1504", "new try")),
    Fault("task FAILED 1505 real people", lambda e: e.fail_next_tasks(code="1505"), errors.TaskFailedError, charged=0.0,
          says=("Task {task} failed", "1505", "other references")),
    Fault("key is not Enterprise-Shared (1014)", lambda e: setattr(e, "key_type", "PERSONAL"), errors.KeyTypeError,
          submits=1, charged=0.0, says=("nothing charged", "1014", "Enterprise-Shared API key")),
]


def says_what_to_do(message: str, fault: Fault, emulator) -> None:
    """The error names the task and code and says what to do, not merely that something failed."""
    assert fault.says, f"{fault.name}: say what its error must tell the user"
    task = next(iter(emulator.tasks), "")
    for words in fault.says:
        assert words.format(task=task) in message, f"{fault.name}: {words!r} missing from {message!r}"


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_matrix(rh_env, tmp_path, monkeypatch, fault):
    fault.inject(rh_env)

    result = outcome(rh_env, tmp_path, fault, lambda: generate(
        [solid_images(1)], VideoRequest(f"fault {fault.name}", duration="2", resolution="480p"),
        output_dir=tmp_path, timeout_s=60))
    assert result is None or result.video_path.stat().st_size > 1000


def outcome(rh_env, tmp_path, fault, run):
    """Run, check what the user gets, the submits RunningHub saw and the money; the result, if any."""
    result = None
    if fault.outcome is VIDEO:
        result = run()
        assert result.video_path.is_file()
    else:
        with pytest.raises(fault.outcome) as info:
            run()
        says_what_to_do(str(info.value), fault, rh_env)
    wait_until(lambda: tasks_settled(rh_env), what="every task made to end")  # an orphaned task is charged too
    assert rh_env.counters.submits == fault.submits
    assert rh_env.counters.money_charged == pytest.approx(fault.charged)
    assert not list((tmp_path / "runninghub").glob("*.part")) and not list((tmp_path / "runninghub").glob(".*"))
    return result


# Seedance 2.0: a reference video and an audio clip (the video is the first upload), sound and the
# last frame asked for, 480p x 4 s.
PRICE_2 = 2.8  # 2.0, 480p x 4 s with a reference video: ceil(5/3 x 4) = 7 billed seconds at 0.4 CNY/s
FAULTS_2 = [
    Fault("2.0 upload of the reference video: burst of 503", lambda e: e.inject("upload", "http_error", count=3,
                                                                                 status=503), VIDEO, charged=PRICE_2),
    Fault("2.0 upload of the reference video: connection resets", lambda e: e.inject("upload", "reset", count=2),
          VIDEO, charged=PRICE_2),
    Fault("2.0 query: burst of 503", lambda e: e.inject("query", "http_error", count=4, status=503), VIDEO,
          charged=PRICE_2),
    Fault("2.0 submit: 1003 rate limit, then accepted", lambda e: e.inject("submit", "error_code", count=2,
                                                                            code="1003"), VIDEO, 3, PRICE_2),
    Fault("2.0 submit: answer lost after the task was created",
          lambda e: e.inject("submit", "timeout_after_create", seconds=0.3, reset=True),
          errors.AmbiguousSubmitError, charged=PRICE_2, says=("will not send it again",)),
    Fault("2.0 task FAILED 1505 real people", lambda e: e.fail_next_tasks(code="1505"), errors.RealPersonError,
          charged=0.0, says=("Task {task} failed", "1505", "--real-person")),
    Fault("2.0 download: truncated body (resumed with Range)",
          lambda e: e.inject("download", "truncate", count=2, fraction=0.4), VIDEO, charged=PRICE_2),
    Fault("2.0 last-frame image gone (404): decoded from the video instead",
          lambda e: e.inject("last_frame", "http_error", count=5, status=404), VIDEO, charged=PRICE_2),
]


@pytest.mark.parametrize("fault", FAULTS_2, ids=[f.name for f in FAULTS_2])
def test_fault_matrix_seedance_2(rh_env, tmp_path, monkeypatch, fault):
    import numpy as np

    from ..runninghub_video.emulator.video import encode

    clip = tmp_path / "reference.mp4"
    clip.write_bytes(encode([(40, 90, 200)], 2, 64, 48).mp4)
    audio = {"waveform": np.zeros((1, 1, 16000 * 2), np.float32), "sample_rate": 16000}
    fault.inject(rh_env)
    request = VideoRequest(f"fault {fault.name}", model="seedance-2.0", duration="4", resolution="480p",
                           last_frame=True)
    result = outcome(rh_env, tmp_path, fault, lambda: generate(
        [], request, videos=[clip], audios=[audio], output_dir=tmp_path, timeout_s=60))
    assert result is None or result.last_frame_path.is_file()


def test_ambiguous_submit_is_not_resent_by_queuing_again(rh_env, tmp_path):
    rh_env.inject("submit", "timeout_after_create", seconds=0.2, reset=True)
    request = VideoRequest("ambiguous", duration="2", resolution="480p")
    for _ in range(2):
        with pytest.raises(errors.AmbiguousSubmitError, match="variation"):
            generate([solid_images(1)], request, output_dir=tmp_path)
    assert rh_env.counters.submits == 1


def test_expired_task_gives_a_clear_message(rh_env, tmp_path):
    result = generate([solid_images(1)], VideoRequest("expire", duration="2", resolution="480p"), output_dir=tmp_path)
    result.video_path.unlink()
    rh_env.expire_results()
    with pytest.raises(errors.TaskNotFoundError, match="1004.*24 hours"):
        fetch_task(result.task_id, output_dir=tmp_path)
    assert Journal().get(result.task_id).state == "expired"


CHILD = """
    import numpy as np
    from runninghub_video.run.pipeline import generate
    from runninghub_video.remote.request import VideoRequest
    images = np.array([[[colour] * 48] * 64 for colour in json.loads(sys.argv[2])], np.float32)  # solid_images(1)
    generate([images], VideoRequest("killed mid-wait", duration="2", resolution="480p"), output_dir=sys.argv[1])
"""


def test_killed_mid_wait_then_same_graph_again_recovers_the_paid_video(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.2, run_s=600.0)  # cannot finish before the kill, however slow the machine
    child = subprocess.Popen(child_command(CHILD, tmp_path, solid_image_args(1)), env=dict(os.environ))
    wait_until(lambda: any(row.task_id for row in Journal().list()), what="the task id in the journal")
    child.kill()  # like a crash: no clean-up code runs
    child.wait(10)
    assert rh_env.counters.submits == 1
    rh_env.end_tasks_now()  # it finishes on RunningHub meanwhile
    result = generate([solid_images(1)], VideoRequest("killed mid-wait", duration="2", resolution="480p"),
                      output_dir=tmp_path)
    assert result.resumed and not result.reused and result.video_path.is_file()
    assert rh_env.counters.submits == 1 and rh_env.counters.money_charged == pytest.approx(PRICE)


def test_the_fault_matrix_in_docs_is_the_one_tested_here():
    import sys

    from .fault_matrix_doc import DOC, render

    assert DOC.read_text(encoding="utf-8") == render(sys.modules[__name__]), \
        "docs/fault-matrix.md is stale: run `python tests/fault_matrix_doc.py`"
