"""What a person at a terminal reads: Ctrl-C, a silent RunningHub, a narrow window, one clock, and
the messages of the command line (issue 24, items 6-10)."""
from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from ..runninghub_video.cli import main
from ..runninghub_video.core import waits
from ..runninghub_video.core.events import ProgressEvent
from ..runninghub_video.core.money import Money
from ..runninghub_video.run.estimate import Estimate, TaskEstimate
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.run.polling import _Progress
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.terminal import TerminalProgress
from ..runninghub_video.words.wording import describe

from conftest import FAST, cli_command, image_bytes, solid_images, wait_until

ROOT = Path(__file__).resolve().parents[1]
SURE = TaskEstimate(Estimate(5.0, 4.6, 5.4, 10), Estimate(20.0, 19.0, 21.5, 10))


def _png(tmp_path: Path, name: str = "a.png") -> Path:
    path = tmp_path / name
    path.write_bytes(image_bytes((200, 30, 30)))
    return path


# --- 6: Ctrl-C --------------------------------------------------------------------------------
def test_ctrl_c_names_the_task_that_keeps_running_and_the_same_command_picks_it_up(rh_env, tmp_path):
    rh_env.set_clock(queue_s=0.2, run_s=600.0)  # cannot finish before the Ctrl-C, however slow the machine
    command = cli_command("generate", "--image", _png(tmp_path), "--prompt", "ctrl-c", "--duration", "2",
                          "--resolution", "480p", "--output-dir", tmp_path / "o")
    child = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_until(lambda: rh_env.tasks and rh_env.counters.queries >= 1, what="the task to be waited for")
    (task_id,) = rh_env.tasks
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130
    last = err.strip().splitlines()[-1]
    assert task_id in last and "keeps running on RunningHub" in last and "same command" in last, err
    rh_env.end_tasks_now()  # the task ends on RunningHub; the same command collects it
    again = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert rh_env.counters.submits == 1  # the same command picked the task up, it did not pay again


# --- 7: a silent RunningHub -------------------------------------------------------------------------
def test_when_runninghub_stops_answering_the_line_says_so_and_when_it_answers_again(rh_env, tmp_path):
    previous = waits.use(dataclasses.replace(FAST, unreachable_after_s=0.3, progress_every_s=0.1))
    try:
        rh_env.set_clock(queue_s=0.1, run_s=600.0)  # it runs until the line said RunningHub answers again
        seen: list[ProgressEvent] = []
        hung = threading.Event()

        def on_progress(event: ProgressEvent) -> None:
            seen.append(event)
            if event.state == "RUNNING" and not hung.is_set():
                hung.set()
                rh_env.inject("query", "delay", count=1, seconds=600)  # the next query hangs …
            if event.extra.get("note") == "unreachable":
                rh_env.answer_now()  # … until the line said so
            if event.extra.get("note") == "answering_again":
                rh_env.end_tasks_now()

        result = generate([solid_images(1)], VideoRequest("silent", duration="2", resolution="480p"),
                          output_dir=tmp_path, on_progress=on_progress, timeout_s=60)  # no hour-long hang if broken
    finally:
        waits.use(previous)
    assert result.video_path.is_file()
    lines = [describe(e) for e in seen if e.phase in ("queued", "running")]
    silent = [i for i, line in enumerate(lines) if "not answering" in line]
    assert silent, lines
    assert "the task keeps running there" in lines[silent[0]] and "longer than usual" not in lines[silent[0]]
    assert any("answers again" in line for line in lines[silent[-1]:]), lines


# --- 8: a narrow terminal ---------------------------------------------------------------------------
class _Terminal:
    """A stand-in for stderr on a terminal: what was written, line by line as the screen shows it."""

    def __init__(self) -> None:
        self.written = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.written += text

    def flush(self) -> None:
        pass

    def screen(self) -> str:
        return self.written.split("\r")[-1]


@pytest.mark.parametrize("columns", [80, 60])
def test_at_80_columns_the_status_line_keeps_time_left_and_price(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    event = ProgressEvent("running", state="RUNNING", task_id="2013508786110730241", elapsed_s=41.0, queued_s=12.0,
                          fraction=0.5, eta_s=19.0, price=Money(Decimal("0.75"), "CNY"))
    terminal = _Terminal()
    TerminalProgress(terminal)(event)
    shown = terminal.screen().rstrip()
    assert len(terminal.screen()) <= columns - 1
    assert shown.startswith("RUNNING · 0:41 elapsed") or "] RUNNING · 0:41 elapsed" in shown, shown
    assert "~0:19 left" in shown and "≈0.75 CNY" in shown, shown


def test_a_wide_terminal_shows_the_bar_and_every_field(monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    event = ProgressEvent("running", state="RUNNING", elapsed_s=41.0, queued_s=12.0, fraction=0.5, eta_s=19.0)
    terminal = _Terminal()
    TerminalProgress(terminal)(event)
    assert terminal.screen().rstrip() == "[############------------] RUNNING · 0:41 elapsed · 0:12 in queue · ~0:19 left"


# --- 9: one clock, never backwards --------------------------------------------------------------------
def _seconds(line: str, what: str) -> int:
    found = re.search(r"(\d+):(\d\d) " + what, line)
    return int(found.group(1)) * 60 + int(found.group(2)) if found else 0


def test_the_queue_time_never_steps_back_when_the_task_starts_running():
    events: list[ProgressEvent] = []
    progress = _Progress("42", SURE, events.append, submitted_at=100.0, price=None)
    progress.set_state("QUEUED", 100.0)
    progress.emit(111.9, force=True)  # "0:11 in queue"
    progress.set_state("RUNNING", 112.0, started_at=106.0)  # the start is guessed half-way since the last answer
    progress.emit(112.0, force=True)
    shown = [_seconds(describe(e), "in queue") for e in events]
    assert shown == sorted(shown) and shown[-1] >= 11, [describe(e) for e in events]


def test_elapsed_never_skips_a_second_when_a_query_holds_the_loop():
    events: list[ProgressEvent] = []
    progress = _Progress("42", SURE, events.append, submitted_at=100.0, price=None)
    progress.set_state("RUNNING", 100.0)
    progress.emit(100.95, force=True)
    now = 100.95
    for step in [0.25] * 8 + [0.35] + [0.25] * 8:  # the loop ticks every 0.25 s; one query takes 0.35 s
        now += step
        progress.emit(now)
    shown = [_seconds(describe(e), "elapsed") for e in events]
    assert shown == list(range(shown[0], shown[-1] + 1)), shown


def test_a_late_task_shows_one_clock():
    events: list[ProgressEvent] = []
    progress = _Progress("42", SURE, events.append, submitted_at=100.0, price=None)
    progress.set_state("QUEUED", 100.0)
    progress.set_state("RUNNING", 104.0)
    progress.emit(131.0, force=True)
    line = describe(events[-1])
    assert line == "RUNNING · 0:31 elapsed · 0:04 in queue · taking longer than usual", line


# --- 10: the command line's messages ------------------------------------------------------------------
def test_a_picture_passed_as_video_is_called_a_picture_not_a_short_clip(rh_env, tmp_path, capsys):
    code = main(["generate", "--model", "seedance-2.0", "--image", str(_png(tmp_path)),
                 "--video", str(_png(tmp_path, "still.png")), "--prompt", "x"])
    err = capsys.readouterr().err
    assert code == 2 and "still.png" in err and "not a video" in err and "lasts" not in err, err
    assert rh_env.counters.requests_total == 0


def test_with_only_the_ai_key_set_the_missing_key_error_points_to_site_ai(rh_env, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RUNNINGHUB_API_KEY")
    monkeypatch.setenv("RUNNINGHUB_API_KEY_AI", rh_env.api_key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no stored key either
    monkeypatch.setenv("APPDATA", str(tmp_path / "config"))
    assert main(["generate", "--image", str(_png(tmp_path)), "--prompt", "x"]) == 2
    assert "--site ai" in capsys.readouterr().err


def test_a_rejected_key_is_the_first_thing_said(rh_env, tmp_path):
    env = {**os.environ, "RUNNINGHUB_API_KEY": "wrong-key-0123456789abcdef"}
    out = subprocess.run([sys.executable, "-m", "runninghub_video", "generate", "--image", str(_png(tmp_path)),
                          "--prompt", "x", "--output-dir", str(tmp_path / "o")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "error: Upload: RunningHub error 401" in out.stderr and "concurrency limit" not in out.stderr, out.stderr


def test_an_unknown_task_names_its_id(rh_env, tmp_path, capsys):
    assert main(["fetch", "1234567890123456789", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "1004" in err and "1234567890123456789" in err, err


def test_a_failed_reference_never_prints_a_signed_url(rh_env, tmp_path, capsys):
    signed = "https://rh-oss.example.com/input/ref.png?Expires=1&OSSAccessKeyId=AK1&Signature=c2lnbmVk%3D"
    rh_env.fail_next_tasks(code="1013", message=f"File processing failed: {signed} has expired")
    assert main(["generate", "--image", str(_png(tmp_path)), "--prompt", "x", "--duration", "2",
                 "--resolution", "480p", "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "1013" in err and "https://rh-oss.example.com/input/ref.png" in err, err
    assert "Signature" not in err and "OSSAccessKeyId" not in err and "Expires" not in err, err


def test_fetch_puts_the_video_in_the_folder_asked_for_even_when_a_copy_is_saved(rh_env, tmp_path, capsys):
    assert main(["generate", "--image", str(_png(tmp_path)), "--prompt", "x", "--duration", "2",
                 "--resolution", "480p", "--output-dir", str(tmp_path / "first")]) == 0
    (task_id,) = rh_env.tasks
    capsys.readouterr()
    assert main(["fetch", task_id, "--output-dir", str(tmp_path / "second")]) == 0
    fetched = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert fetched.is_file() and (tmp_path / "second") in fetched.parents, fetched
    assert rh_env.counters.downloads == 1  # copied from the saved video, not downloaded again


def test_list_says_with_sound_not_true(rh_env, tmp_path, capsys):
    assert main(["generate", "--model", "seedance-2.0", "--image", str(_png(tmp_path)), "--prompt", "x",
                 "--duration", "4", "--resolution", "480p", "--output-dir", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "with sound" in listed and "True" not in listed, listed
