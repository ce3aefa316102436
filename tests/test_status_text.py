"""Every status line a person reads — on the node, in the terminal, in the log — in English and
in the Chinese of a Chinese ComfyUI (runninghub_video/words/wording.py).

The client reports a run as data only; these tests pin the words said for that data. Real runs
against the emulator supply the events where the data's shape matters.
"""
from __future__ import annotations

import re
import string
import threading
from decimal import Decimal

import pytest

from ..nodes import browser_language
from ..runninghub_video.core import errors
from ..runninghub_video.remote import error_codes
from ..runninghub_video.words import wording
from ..runninghub_video.core.events import ProgressEvent
from ..runninghub_video.core.money import Money
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.run.estimate import Estimate, TaskEstimate
from ..runninghub_video.run.polling import _Progress
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.words.wording import describe

from conftest import solid_images

SHORT = dict(duration="2", resolution="480p")
ENGLISH_WORDS = ("elapsed", "queue", "left", "finishing", "upload", "submit", "download", "resum", "reused",
                 "saved", "done", "task", "waiting", "SUBMITTED", "QUEUED", "RUNNING", "SUCCESS", "CNY")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def no_browser_known(monkeypatch):
    monkeypatch.setattr(browser_language, "_by_client", {})


ESTIMATE = Money(Decimal("0.75"), "CNY")


def ticker(*states: tuple[str, float], now: float, price: Money | None = ESTIMATE, charged: bool = False,
           note: str = "", expected: float = 48.0, unsure: bool = False) -> ProgressEvent:
    """The client's own 1 s status event: submitted at t=100, then each (state, at) in turn;
    ``price`` is the published estimate, or with ``charged`` what RunningHub reported."""
    events: list[ProgressEvent] = []
    spread = 0.5 if unsure else 0.05  # unsure: a range of ±50 %
    estimate = TaskEstimate(queue=Estimate(0.0, 0.0, 0.0, 10),
                            run=Estimate(expected, expected * (1 - spread), expected * (1 + spread), 10))
    progress = _Progress("2013508786110730241", estimate, events.append, submitted_at=100.0, price=price)
    progress.charged = charged
    for state, at in states:
        progress.set_state(state, at)
    progress.note = note
    progress.emit(now, force=True)
    return events[-1]


TICKS = {  # name: (event, English, Chinese)
    "submitted": (ticker(now=101.0), "SUBMITTED · 0:01 elapsed · 0:01 in queue · ~0:48 left · ≈0.75 CNY",
                  "已提交 · 已用 0:01 · 排队 0:01 · 约剩 0:48 · ≈0.75 元"),
    "queued": (ticker(("QUEUED", 100.0), now=112.0), "QUEUED · 0:12 elapsed · 0:12 in queue · ~0:48 left · ≈0.75 CNY",
               "排队中 · 已用 0:12 · 排队 0:12 · 约剩 0:48 · ≈0.75 元"),
    "created": (ticker(("CREATE", 100.0), now=100.5, price=None), "CREATE · 0:00 elapsed · ~0:48 left",
                "已创建 · 已用 0:00 · 约剩 0:48"),
    "running": (ticker(("QUEUED", 100.0), ("RUNNING", 112.0), now=141.0),
                "RUNNING · 0:41 elapsed · 0:12 in queue · ~0:19 left · ≈0.75 CNY",
                "运行中 · 已用 0:41 · 排队 0:12 · 约剩 0:19 · ≈0.75 元"),
    "unsure": (ticker(("RUNNING", 100.0), now=110.0, expected=40.0, unsure=True),
               "RUNNING · 0:10 elapsed · ~0:10–0:50 left · ≈0.75 CNY", "运行中 · 已用 0:10 · 约剩 0:10–0:50 · ≈0.75 元"),
    "unsure, its near end passed": (ticker(("RUNNING", 100.0), now=130.0, expected=40.0, unsure=True),
                                    "RUNNING · 0:30 elapsed · up to ~0:30 left · ≈0.75 CNY",
                                    "运行中 · 已用 0:30 · 最多约剩 0:30 · ≈0.75 元"),
    "finishing": (ticker(("RUNNING", 100.0), now=148.5), "RUNNING · 0:48 elapsed · finishing · ≈0.75 CNY",
                  "运行中 · 已用 0:48 · 即将完成 · ≈0.75 元"),
    "late": (ticker(("RUNNING", 100.0), now=165.0),
             "RUNNING · 1:05 elapsed · taking longer than usual · ≈0.75 CNY",
             "运行中 · 已用 1:05 · 比平时慢 · ≈0.75 元"),
    "charged": (ticker(("RUNNING", 100.0), ("SUCCESS", 130.0), now=130.0, charged=True),
                "SUCCESS · 0:30 elapsed · 0.75 CNY", "已完成 · 已用 0:30 · 0.75 元"),
    "usd": (ticker(("RUNNING", 100.0), now=110.0, price=Money(Decimal("0.05"), "USD")),
            "RUNNING · 0:10 elapsed · ~0:38 left · ≈$0.05", "运行中 · 已用 0:10 · 约剩 0:38 · ≈$0.05"),
    "retrying": (ticker(("RUNNING", 100.0), now=105.0, note="retrying"),
                 "RUNNING · 0:05 elapsed · ~0:43 left · ≈0.75 CNY · connection trouble, retrying",
                 "运行中 · 已用 0:05 · 约剩 0:43 · ≈0.75 元 · 连接不稳定，正在重试"),
    "unknown state": (ticker(("RUNNING", 100.0), ("PAUSED", 105.0), now=107.0, note="unknown_state"),
                      "PAUSED · 0:07 elapsed · ≈0.75 CNY · unknown state 'PAUSED', still waiting",
                      "PAUSED · 已用 0:07 · ≈0.75 元 · 未知状态 PAUSED，继续等待"),
}


@pytest.mark.parametrize("name", TICKS)
def test_the_waiting_line_reads_the_same_in_english_and_chinese(name):
    event, english, chinese = TICKS[name]
    assert describe(event) == describe(event, "en") == english
    assert describe(event, "zh") == chinese


def test_the_waiting_event_is_data_a_ui_can_word_itself():
    event, _, _ = TICKS["running"]
    assert not hasattr(event, "message")
    assert (event.state, event.elapsed_s, event.queued_s, round(event.eta_s), event.price, event.charged) == \
        ("RUNNING", 41.0, 12.0, 19, ESTIMATE, False)
    late, _, _ = TICKS["late"]
    assert late.eta_s is None and late.extra == {"late_s": 65.0}
    unsure, _, _ = TICKS["unsure"]
    assert unsure.extra == {"eta_range": [10.0, 50.0]}


STEPS = [  # (event as the client sends it, English, Chinese)
    (ProgressEvent("slot"), "waiting for a free slot", "等待空闲的任务名额"),
    (ProgressEvent("upload", extra={"index": 1, "count": 2, "bytes": 312_000}),
     "uploading reference 1/2 (312 KB)", "正在上传参考图 1/2（312 KB）"),
    (ProgressEvent("submit"), "submitting", "正在提交"),
    (ProgressEvent("submit", extra={"fresh_uploads": True}), "submitting (fresh uploads)", "正在提交（参考图已重新上传）"),
    (ProgressEvent("queued", task_id="42", extra={"resumed": True}), "resuming task 42", "继续任务 42"),
    (ProgressEvent("queued", task_id="42", extra={"joined": True}),
     "waiting for the same request, already started by another run", "等待另一次运行已开始的相同请求"),
    (ProgressEvent("download", task_id="42"), "downloading the video", "正在下载视频"),
    (ProgressEvent("download", task_id="42", extra={"bytes_done": 1_200_000, "bytes_total": 3_400_000}),
     "downloading 1.2 MB/3.4 MB", "正在下载 1.2 MB/3.4 MB"),
    (ProgressEvent("download", task_id="42", extra={"bytes_done": 1_200_000, "bytes_total": None}),
     "downloading 1.2 MB", "正在下载 1.2 MB"),
    (ProgressEvent("download", task_id="42", extra={"bytes_done": 3_400, "bytes_total": 52_000}),  # never 0.0/0.1 MB
     "downloading 3 KB/52 KB", "正在下载 3 KB/52 KB"),
    (ProgressEvent("done", task_id="42", extra={"reused": True}),
     "reused the saved video of task 42", "已复用任务 42 保存的视频"),
    (ProgressEvent("done", task_id="42", extra={"file": "a.mp4"}), "saved a.mp4", "已保存 a.mp4"),
]


@pytest.mark.parametrize("event,english,chinese", STEPS, ids=[s[1] for s in STEPS])
def test_every_step_of_a_run_has_its_line_in_both_languages(event, english, chinese):
    assert describe(event) == english
    assert describe(event, "zh") == chinese


def test_every_event_of_real_runs_reads_in_english_and_in_chinese(rh_env, tmp_path):
    """Fresh uploads after a rejected URL, a cancelled wait, the resume, then the reuse."""
    rh_env.set_clock(queue_s=1.2, run_s=600.0)  # still running when Cancel is seen, however slow the machine
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
    rh_env.end_tasks_now()
    for _ in range(2):  # resumes the paid task, then reuses its video
        generate([solid_images(2)], request, output_dir=tmp_path, on_progress=seen.append)
    assert {e.phase for e in seen} >= {"upload", "submit", "queued", "running", "download", "done"}
    assert any(e.extra.get("fresh_uploads") for e in seen) and any(e.extra.get("resumed") for e in seen)
    assert any(e.extra.get("reused") for e in seen) and any("bytes_done" in e.extra for e in seen)
    for event in seen:
        english, chinese = describe(event), describe(event, "zh")
        assert english != event.phase and not CHINESE.search(english), english  # a real line, not the fallback
        assert CHINESE.search(chinese) and not any(word in chinese for word in ENGLISH_WORDS), chinese


def test_an_event_of_a_kind_nobody_words_is_named_by_its_phase():
    assert describe(ProgressEvent("warming"), "zh") == "warming"
    assert describe(ProgressEvent("upload", extra={"index": 1}), "zh") == "upload"  # details missing: no crash


def test_each_line_has_the_same_placeholders_in_english_and_chinese():
    tables = {"LINES": wording.LINES, "ERRORS": wording.ERRORS,
              "CODES": {code: row.line for code, row in error_codes.CODES.items()},
              "CODES (Test key)": {code: row.key_line for code, row in error_codes.CODES.items() if row.key_line},
              "CODES (option)": {code: row.option_line for code, row in error_codes.CODES.items() if row.option_line}}
    for name, table in tables.items():
        for key, (english, chinese) in table.items():
            en, zh = ({f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (english, chinese))
            assert CHINESE.search(chinese) and not CHINESE.search(english), f"{name}[{key!r}]"
            if not (en == {"detail"} and "detail" not in zh):  # else: the English message, its details in Chinese
                assert en == (zh - {"code"} if "detail" in en else zh), f"{name}[{key!r}]"  # the detail has the code


def test_closing_line_names_task_cost_and_time_in_the_users_language():
    assert wording.finished("42", "a.mp4", cost=ESTIMATE, elapsed_s=12.4) == \
        "done · task 42 · 0.75 CNY · 0:12\na.mp4"
    assert wording.finished("42", "a.mp4", cost=ESTIMATE, elapsed_s=12.4, lang="zh") == \
        "完成 · 任务 42 · 0.75 元 · 0:12\na.mp4"
    assert wording.finished("42", "a.mp4", reused=True) == "reused the saved video · task 42\na.mp4"
    assert wording.finished("42", "a.mp4", reused=True, lang="zh") == "已复用保存的视频 · 任务 42\na.mp4"
    assert wording.finished("42", "a.mp4", resumed=True, cost=ESTIMATE, elapsed_s=70) == \
        "resumed · task 42 · 0.75 CNY · 1:10\na.mp4"


def test_after_cancel_the_line_says_the_paid_task_keeps_running_and_how_to_pick_it_up():
    assert wording.cancelled("42") == ("cancelled · task 42 keeps running · queue again to pick it up "
                                       "(or use RunningHub Fetch Task within 24 h)")
    assert wording.cancelled("42", "zh") == ("已取消 · 任务 42 仍在运行 · 再次排队即可取回（或 24 小时内用"
                                             "“RunningHub 取回任务”节点取回）")  # the node as the Chinese UI names it
    assert wording.cancelled() == "cancelled before anything was submitted (nothing charged)"


@pytest.mark.parametrize("locale,language", [("zh", "zh"), ("zh-CN", "zh"), ("zh-TW", "zh"), ("ZH", "zh"),
                                             ("en", "en"), ("ja", "en"), ("", "en"), (None, "en")])
def test_status_language_follows_the_browsers_comfyui_locale(locale, language):
    assert browser_language.set_language(locale, "browser") == language == browser_language.language_for("browser")
    event, english, chinese = TICKS["running"]
    assert describe(event, browser_language.language_for("browser")) == (chinese if language == "zh" else english)


def test_every_error_of_the_pack_has_a_short_line_in_both_languages():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.RunningHubError)]
    assert len(classes) > 15
    for cls in classes:  # with a code RunningHub sends for it, or one no table knows
        code = next((code for code, row in error_codes.CODES.items() if row.error is cls), "1234")
        exc = cls("Something went wrong.", code=code, task_id="42")
        english, chinese = wording.error_line(exc, "en", site="cn"), wording.error_line(exc, "zh", site="cn")
        assert english and chinese != english, cls.__name__
        assert CHINESE.search(chinese), f"{cls.__name__}: no Chinese in {chinese!r}"
        if cls not in (errors.RunningHubError, errors.ApiError, errors.ConfigError, errors.ValidationError,
                       errors.ResourceError, errors.Interrupted):
            assert "Something went wrong." not in english, f"{cls.__name__}: the client's words, not advice"


def test_an_error_line_names_code_task_and_the_fix():
    failed = errors.TaskFailedError("x", code="1015", task_id="2013508786110730241")
    assert wording.error_line(failed, "en") == ("task 2013508786110730241 failed (1015): change variation and "
                                                "queue again to pay for a new try")
    assert wording.failed(failed, "zh").startswith("失败：任务 2013508786110730241 失败（1015）")
    assert wording.error_line(errors.ConfigError("x"), "zh", site="ai", no_key=True) == \
        ".ai 没有 API 密钥：请在 设置 → RunningHub 中填写"


def test_the_key_problem_under_a_node_is_the_line_a_failed_run_would_show():
    rejected = errors.AuthError("x", code="1002")
    assert wording.key_problem(rejected, "cn") == wording.error_line(rejected, site="cn")
    assert wording.key_problem(None, "ai", "zh") == ".ai 没有 API 密钥：请在 设置 → RunningHub 中填写"
    other_site = errors.AuthError("x", code="806")
    assert wording.key_problem(other_site, "cn").startswith("no .cn account has this key (806): it is probably a "
                                                            "key of the other site")


def test_a_real_person_refusal_says_the_option_when_the_node_has_it_else_other_references():
    convertible = errors.RealPersonError("x", code="1505", task_id="42", references=("image 2",))
    assert wording.error_line(convertible) == ("RunningHub refused a real person in image 2 (1505), no charge "
                                               "reported: turn on real_person on this node (the references become "
                                               "assets on your RunningHub account)")
    assert wording.error_line(convertible, "zh") == ("RunningHub 拒绝了参考图 2中的真人（1505），未报告扣费：请打开此节点的"
                                                    "“真人参考”（real_person）（参考会转换为你 RunningHub 账户中的素材）")
    refused = errors.TaskFailedError("x", code="1505", task_id="42")  # a model that cannot take real people
    assert wording.error_line(refused) == ("a reference shows a photorealistic real person (1505): this model "
                                           "cannot take it as sent; use other references")


INPUT_PROBLEMS = [  # (request, the Chinese line a node shows)
    (VideoRequest(prompt=" "), "提示词为空：请描述想要的视频（1-5000 个字符）"),
    (VideoRequest(prompt="x" * 5001), "提示词有 5001 个字符，请缩短到 5000 个以内"),
    (VideoRequest(prompt="a\ud800b"), "提示词无法发送：第 2 个字符只有半个（孤立的代理字符，常由复制粘贴出错留下），请删除或重新输入它；未上传、未扣费"),
    (VideoRequest(prompt="x", model="seedance-2.0-fast", resolution="native1080p"),
     "Seedance 2.0 Fast 不支持“分辨率”为 native1080p：可用 480p, 720p, 1080p, 2k, 4k"),
    (VideoRequest(prompt="x", model="seedance-1.5-pro", mode="text", duration="15"),
     "Seedance 1.5 Pro 不支持时长 15：请用 4-12 的整数秒"),
    (VideoRequest(prompt="x", model="seedance-2.0", seed="many"), "“种子”的值 many 不是整数"),
    (VideoRequest(prompt="x", model="seedance-v1-lite", mode="text"), "Seedance v1-lite 没有文生视频模式：它提供 参考生视频"),
    (VideoRequest(prompt="x", model="seedance-2.0", mode="frames", web_search=True),
     "“联网搜索”不是 Seedance 2.0（首尾帧生视频）的选项，请保持默认"),
    (VideoRequest(prompt="x", references=(("image", 5),)), "连接了 5 个参考图：Seedance v1-lite 接受 1-4 个（批次中每张图各算一张）"),
    (VideoRequest(prompt="x", references=(("image", 1), ("video", 1))), "Seedance v1-lite 不接受参考视频（"),
    (VideoRequest(prompt="x", model="seedance-2.0", mode="frames", references=(("last_frame", 1),)),
     "Seedance 2.0（首尾帧生视频）需要首帧图，但没有连接"),
    (VideoRequest(prompt="x", model="seedance-2.5", references=(("audio", 1),)), "Seedance 2.5 至少需要 1 个参考（参考图或参考视频），请连接一个"),
    (VideoRequest(prompt="x", model="seedance-2.5", task_type="edit", references=(("image", 1),)),
     "“任务类型”为 edit 时至少需要一个参考视频：请连接一个，或选择其他“任务类型”"),
    (VideoRequest(prompt="x", model="seedance-1.5-pro", mode="text", real_person=True), "Seedance 1.5 Pro 不能使用“真人参考”"),
]


@pytest.mark.parametrize("request_, chinese", INPUT_PROBLEMS, ids=lambda v: getattr(v, "model", None))
def test_an_input_problem_found_before_upload_reads_in_chinese_with_its_figures(request_, chinese):
    with pytest.raises(errors.ValidationError) as refused:
        request_.validated()
    line = wording.error_line(refused.value, "zh")
    assert line.startswith("输入有误：" + chinese), line
    assert not re.search(r"\b(the|is|not|use|needs|takes|of|a)\b", line), line  # no English sentence left
    assert wording.error_line(refused.value, "en") == f"input problem: {refused.value}"  # English: its own message


def test_a_task_id_that_is_none_reads_in_chinese():
    from ..runninghub_video.remote.task_id import check_task_id

    with pytest.raises(errors.ValidationError) as refused:
        check_task_id("hello")
    assert wording.error_line(refused.value, "zh") == ("输入有误：“hello”不是 RunningHub 任务 ID：任务 ID 是一串长数字，"
                                                      "如 2013508786110730241（节点、错误信息或命令行会显示）")


def test_a_task_id_with_a_digit_lost_or_of_the_other_site_reads_in_chinese():
    from ..runninghub_video.remote.task_id import check_task_id

    with pytest.raises(errors.ValidationError) as short:
        check_task_id("201350878611073024")
    with pytest.raises(errors.ValidationError) as other_site:
        check_task_id("https://www.runninghub.ai/call-api/call-record-detail/2013508786110730241", "cn")
    assert wording.error_line(short.value, "zh") == ("输入有误：“201350878611073024”不是 RunningHub 任务 ID：它有 18 位数字，"
                                                    "任务 ID 是 19 位，如 2013508786110730241；请完整复制（节点、错误信息或命令行会显示）")
    assert wording.error_line(other_site.value, "zh") == ("输入有误：这是 .ai（runninghub.ai）的任务地址，但所选站点是 .cn："
                                                         "请选择站点 ai（节点的“站点”，或 --site ai）")


def test_a_failed_conversion_for_real_people_names_the_reference_in_chinese():
    from ..runninghub_video.run.real_person import ConversionFailedError, _failed

    failed = _failed("image 2", "no face found.", "")
    assert wording.error_line(failed, "zh") == ("RunningHub 无法为真人转换参考图 2（no face found）；视频未提交、未扣费："
                                               "请换用其他参考，或重新运行再试一次转换")
    assert wording.error_line(failed, "en").startswith("RunningHub could not convert image 2 for real people")
    bare = ConversionFailedError("made elsewhere, without its details")  # never a crash on the error path
    assert wording.error_line(bare, "zh").startswith("RunningHub 无法为真人转换?（?）")


def test_a_reference_clip_or_image_refused_before_upload_reads_in_chinese(tmp_path):
    import numpy as np

    from ..runninghub_video.media import clips, images
    from ..runninghub_video.remote import models
    from ..runninghub_video.run import spend

    model = models.get("seedance-2.0")
    rule = next(r for r in model.endpoint("reference").media if r.kind == "video")
    long_clip = clips.MediaReference("video", "video 2", 20.0, b"x", "mp4", "sha")
    bad_file = tmp_path / "clip.mp4"
    bad_file.write_bytes(b"not a video")
    refusals = {
        "参考视频 2 长 20.0 秒：Seedance 2.0 的参考视频每段须为 2-15 秒；请剪短":
            lambda: clips.check_reference(long_clip, rule, model),
        "参考视频合计 20.0 秒：Seedance 2.0 最多接受合计 15 秒；请剪短或去掉一段":
            lambda: clips.check_total([long_clip], rule, model),
        "参考视频 1 (clip.mp4) 无法作为视频读取（": lambda: clips.video_reference(bad_file, "video 1"),
        "参考图 1 为 8x8 像素：参考图每边至少 14 像素（最好 300 以上）；请换更大的图或先放大": lambda: images.prepare_references(
            [np.zeros((2, 8, 8, 3), np.float32)]),
        "每日预算是 0 到 1000000 的金额（CNY），留空则关闭；收到的是 -3": lambda: spend.set_daily_budget("cn", -3),
    }
    for chinese, refuse in refusals.items():
        with pytest.raises(errors.ValidationError) as refused:
            refuse()
        assert wording.error_line(refused.value, "zh").startswith("输入有误：" + chinese), refused.value
    named = errors.ValidationError("x", code="image_batch_empty", details={"name": "image 2 (batch item 3)"})
    assert wording.error_line(named, "zh") == "输入有误：参考图 2（批次第 3 张） 是空批次：请至少连接一张图"
