"""The node's live status line in the user's ComfyUI language (nodes/status_text.py).

English must stay exactly what the client writes (its ``message``, also used by the CLI and logs);
Chinese says the same from the event's data. Real runs against the emulator supply the events.
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from nodes import status_text
from runninghub_video import download, errors
from runninghub_video.events import ProgressEvent
from runninghub_video.money import Money
from runninghub_video.pipeline import generate
from runninghub_video.estimate import Estimate, TaskEstimate
from runninghub_video.polling import _Progress
from runninghub_video.request import VideoRequest

from conftest import solid_images

SHORT = dict(duration="2", resolution="480p")
ENGLISH_WORDS = ("elapsed", "queue", "left", "finishing", "upload", "submit", "download", "resum", "reused",
                 "saved", "done", "task", "waiting", "SUBMITTED", "QUEUED", "RUNNING", "SUCCESS", "CNY")


@pytest.fixture(autouse=True)
def no_browser_known(monkeypatch):
    monkeypatch.setattr(status_text, "_by_client", {})


ESTIMATE = Money(Decimal("0.75"), "CNY")


def ticker(*states: tuple[str, float], now: float, price: Money | None = ESTIMATE, charged: bool = False,
           note: str = "", expected: float = 48.0) -> ProgressEvent:
    """The client's own 1 s status event: submitted at t=100, then each (state, at) in turn;
    ``price`` is the published estimate, or with ``charged`` what RunningHub reported."""
    events: list[ProgressEvent] = []
    sure = TaskEstimate(queue=Estimate(0.0, 0.0, 0.0, 10), run=Estimate(expected, expected * 0.95, expected * 1.05, 10))
    progress = _Progress("2013508786110730241", sure, events.append, submitted_at=100.0, price=price)
    progress.charged = charged
    for state, at in states:
        progress.set_state(state, at)
    progress.note = note
    progress.emit(now, force=True)
    return events[-1]


TICKS = {
    "submitted": (ticker(now=101.0), "已提交 · 已用 0:01 · 排队 0:01 · 约剩 0:48 · ≈0.75 元"),
    "queued": (ticker(("QUEUED", 100.0), now=112.0), "排队中 · 已用 0:12 · 排队 0:12 · 约剩 0:48 · ≈0.75 元"),
    "created": (ticker(("CREATE", 100.0), now=100.5, price=None), "已创建 · 已用 0:00 · 约剩 0:48"),
    "running": (ticker(("QUEUED", 100.0), ("RUNNING", 112.0), now=141.0),
                "运行中 · 已用 0:41 · 排队 0:12 · 约剩 0:19 · ≈0.75 元"),
    "finishing": (ticker(("RUNNING", 100.0), now=148.5), "运行中 · 已用 0:48 · 即将完成 · ≈0.75 元"),
    "late": (ticker(("RUNNING", 100.0), now=165.0), "运行中 · 已用 1:05 · 比平时慢 · 已运行 1:05 · ≈0.75 元"),
    "charged": (ticker(("RUNNING", 100.0), ("SUCCESS", 130.0), now=130.0, charged=True),
                "已完成 · 已用 0:30 · 0.75 元"),
    "usd": (ticker(("RUNNING", 100.0), now=110.0, price=Money(Decimal("0.05"), "USD")),
            "运行中 · 已用 0:10 · 约剩 0:38 · ≈$0.05"),
    "retrying": (ticker(("RUNNING", 100.0), now=105.0, note="retrying"),
                 "运行中 · 已用 0:05 · 约剩 0:43 · ≈0.75 元 · 连接不稳定，正在重试"),
    "unknown state": (ticker(("RUNNING", 100.0), ("PAUSED", 105.0), now=107.0, note="unknown_state"),
                      "PAUSED · 已用 0:07 · ≈0.75 元 · 未知状态 PAUSED，继续等待"),
}


@pytest.mark.parametrize("name", TICKS)
def test_waiting_line_is_the_clients_in_english_and_chinese_in_zh(name):
    event, chinese = TICKS[name]
    assert status_text.describe(event, "en") == event.message
    assert status_text.describe(event, "zh") == chinese


def test_the_example_running_line_reads_as_promised():
    event, _ = TICKS["running"]
    assert event.message == "RUNNING · 0:41 elapsed · 0:12 in queue · ~0:19 left · ≈0.75 CNY"


STEPS = [  # (event as the client sends it, English, Chinese)
    (ProgressEvent("slot", "waiting for a free slot"), "waiting for a free slot", "等待空闲的任务名额"),
    (ProgressEvent("upload", "uploading reference 1/2 (312 KB)", extra={"index": 1, "count": 2, "bytes": 312_000}),
     "uploading reference 1/2 (312 KB)", "正在上传参考图 1/2（312 KB）"),
    (ProgressEvent("submit", "submitting"), "submitting", "正在提交"),
    (ProgressEvent("submit", "submitting (fresh uploads)", extra={"fresh_uploads": True}),
     "submitting (fresh uploads)", "正在提交（参考图已重新上传）"),
    (ProgressEvent("queued", "resuming task 42", task_id="42", extra={"resumed": True}),
     "resuming task 42", "继续任务 42"),
    (ProgressEvent("download", "downloading the video", task_id="42"), "downloading the video", "正在下载视频"),
    (ProgressEvent("download", download._download_text(1_200_000, 3_400_000), task_id="42",
                   extra={"bytes_done": 1_200_000, "bytes_total": 3_400_000}),
     "downloading 1.2 MB/3.4 MB", "正在下载 1.2 MB/3.4 MB"),
    (ProgressEvent("download", download._download_text(1_200_000, None), task_id="42",
                   extra={"bytes_done": 1_200_000, "bytes_total": None}),
     "downloading 1.2 MB", "正在下载 1.2 MB"),
    (ProgressEvent("download", download._download_text(3_400, 52_000), task_id="42",
                   extra={"bytes_done": 3_400, "bytes_total": 52_000}),
     "downloading 3 KB/52 KB", "正在下载 3 KB/52 KB"),
    (ProgressEvent("done", "reused the saved video of task 42", task_id="42", extra={"reused": True}),
     "reused the saved video of task 42", "已复用任务 42 保存的视频"),
    (ProgressEvent("done", "saved a.mp4", task_id="42", extra={"file": "a.mp4"}), "saved a.mp4", "已保存 a.mp4"),
]


@pytest.mark.parametrize("event,english,chinese", STEPS, ids=lambda x: getattr(x, "message", None))
def test_every_step_of_a_run_has_its_line_in_both_languages(event, english, chinese):
    assert event.message == english
    assert status_text.describe(event, "en") == english
    assert status_text.describe(event, "zh") == chinese


def test_english_is_exactly_the_clients_message_for_every_event_of_real_runs(rh_env, tmp_path):
    """Fresh uploads after a rejected URL, a cancelled wait, the resume, then the reuse."""
    rh_env.set_clock(queue_s=1.2, run_s=1.5)
    rh_env.inject("submit", "error_code", count=1, code="1013")
    seen: list[ProgressEvent] = []
    cancel = threading.Event()

    def cancel_once_running(event: ProgressEvent) -> None:
        seen.append(event)
        if event.phase == "running":
            cancel.set()

    request = VideoRequest("status text", **SHORT)
    with pytest.raises(errors.Interrupted):
        generate([solid_images(2)], request, output_dir=tmp_path, on_progress=cancel_once_running,
                 should_cancel=cancel.is_set)
    for _ in range(2):  # resumes the paid task, then reuses its video
        generate([solid_images(2)], request, output_dir=tmp_path, on_progress=seen.append)
    assert {e.phase for e in seen} >= {"upload", "submit", "queued", "running", "download", "done"}
    assert any(e.extra.get("fresh_uploads") for e in seen) and any(e.extra.get("resumed") for e in seen)
    assert any(e.extra.get("reused") for e in seen) and any("bytes_done" in e.extra for e in seen)
    for event in seen:
        assert status_text.describe(event, "en") == event.message
        chinese = status_text.describe(event, "zh")
        assert chinese and not any(word in chinese for word in ENGLISH_WORDS), chinese


def test_closing_line_names_task_cost_and_time_in_the_users_language():
    assert status_text.finished("42", "a.mp4", cost=ESTIMATE, elapsed_s=12.4, lang="en") == \
        "done · task 42 · 0.75 CNY · 0:12\na.mp4"
    assert status_text.finished("42", "a.mp4", cost=ESTIMATE, elapsed_s=12.4, lang="zh") == \
        "完成 · 任务 42 · 0.75 元 · 0:12\na.mp4"
    assert status_text.finished("42", "a.mp4", reused=True, lang="en") == "reused the saved video · task 42\na.mp4"
    assert status_text.finished("42", "a.mp4", reused=True, lang="zh") == "已复用保存的视频 · 任务 42\na.mp4"
    assert status_text.finished("42", "a.mp4", resumed=True, cost=ESTIMATE, elapsed_s=70,
                                lang="en") == "resumed · task 42 · 0.75 CNY · 1:10\na.mp4"


@pytest.mark.parametrize("locale,language", [("zh", "zh"), ("zh-CN", "zh"), ("zh-TW", "zh"), ("ZH", "zh"),
                                             ("en", "en"), ("ja", "en"), ("", "en"), (None, "en")])
def test_status_language_follows_the_browsers_comfyui_locale(locale, language):
    assert status_text.set_language(locale, "browser") == language == status_text.language_for("browser")
    event, chinese = TICKS["running"]
    assert status_text.describe(event, status_text.language_for("browser")) == \
        (chinese if language == "zh" else event.message)


def test_an_event_this_module_does_not_know_shows_the_clients_message():
    assert status_text.describe(ProgressEvent("warming", "warming up"), "zh") == "warming up"
    partial = ProgressEvent("upload", "uploading reference 1/2", extra={"index": 1})
    assert status_text.describe(partial, "zh") == "uploading reference 1/2"


def test_every_error_of_the_pack_has_a_short_line_in_both_languages():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.RunningHubError)]
    assert len(classes) > 15
    for cls in classes:
        exc = cls("Something went wrong.", code="1234", task_id="42")
        english, chinese = status_text.error_line(exc, "en", site="cn"), status_text.error_line(exc, "zh", site="cn")
        assert english and chinese != english, cls.__name__
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), f"{cls.__name__}: no Chinese in {chinese!r}"
        if cls not in (errors.RunningHubError, errors.ApiError, errors.ConfigError, errors.ValidationError,
                       errors.ResourceError, errors.Interrupted):
            assert "Something went wrong." not in english, f"{cls.__name__}: the client's words, not advice"
    assert set(status_text.ERRORS_EN) == set(status_text.ERRORS_ZH)
    assert set(status_text.TEXT["en"]) <= set(status_text.TEXT["zh"])


def test_an_error_line_names_code_task_and_the_fix():
    failed = errors.GenerationFailedError("x", code="1015", task_id="2013508786110730241")
    assert status_text.error_line(failed, "en") == ("task 2013508786110730241 failed (1015): change variation and "
                                                    "queue again to pay for a new try")
    assert status_text.failed(failed, "zh").startswith("失败：任务 2013508786110730241 失败（1015）")
    assert status_text.error_line(errors.ConfigError("x"), "zh", site="ai", no_key=True) == \
        ".ai 没有 API 密钥：请在 设置 → RunningHub 中填写"
