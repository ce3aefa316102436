"""The whole Seedance family from the command line, against the emulator: each model and mode
reaches its own endpoint with its own wire types, delivers its MP4, and the price printed before
paying is what was charged; each model's limits are refused before anything is uploaded."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from ..runninghub_video.cli import main
from ..runninghub_video.core.errors import ValidationError
from ..runninghub_video.core.money import Money, Price, format_price
from ..runninghub_video.emulator.video import encode
from ..runninghub_video.remote import models
from ..runninghub_video.remote.request import VideoRequest

from conftest import REF_COLOURS, clip, ending_once_running, image_bytes, solid_images
from .test_nodes import comfy, run as run_node  # noqa: F401  (comfy is a fixture: ComfyUI's runtime modules, faked)


def images(folder: Path, count: int) -> list[str]:
    paths = []
    for i in range(count):
        path = folder / f"ref{i}.png"
        path.write_bytes(image_bytes(tuple(int(255 * c) for c in REF_COLOURS[i % len(REF_COLOURS)])))
        paths.append(str(path))
    return paths


def run(capsys, *args: str) -> tuple[Path, str]:
    """``generate`` as a user types it: the saved MP4 and the price line printed before paying."""
    assert main(["generate", "--prompt", "a fox in the snow", *args]) == 0
    out = capsys.readouterr()
    video = Path(out.out.split()[0])  # then the last frame's PNG, when asked for
    (price,) = re.findall(r"^price: (.*)$", out.err, re.M)
    return video, price


def charged(emulator) -> str:
    return format_price(Price.exact(Money(Decimal(str(emulator.counters.money_charged)), "CNY")))


def test_2_0_mini_with_two_images(rh_env, tmp_path, capsys):
    video, price = run(capsys, "--model", "seedance-2.0-mini", *sum((["--image", p] for p in images(tmp_path, 2)), []),
                       "--resolution", "480p", "--duration", "4", "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode) == ("seedance-2.0-mini", "reference") and video.suffix == ".mp4"
    assert len(task.body["imageUrls"]) == 2 and task.body["generateAudio"] is True and task.body["ratio"] == "adaptive"
    assert price == f"{charged(rh_env)} (price preview)" == "≈1.20 CNY (price preview)"  # 0.3 x 4


def test_2_0_global_fast_text_with_web_search(rh_env, tmp_path, capsys):
    video, price = run(capsys, "--model", "seedance-2.0-global-fast", "--web-search", "--duration", "5",
                       "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode) == ("seedance-2.0-global-fast", "text") and video.is_file()
    assert task.body["webSearch"] is True and "imageUrls" not in task.body
    assert price == f"{charged(rh_env)} (price preview)" == "≈5.00 CNY (price preview)"  # 1.0 x 5 at 720p


def test_2_0_first_and_last_frame(rh_env, tmp_path, capsys):
    first, last = images(tmp_path, 2)
    video, price = run(capsys, "--model", "seedance-2.0", "--start-image", first, "--end-image", last,
                       "--resolution", "480p", "--duration", "4", "--last-frame", "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode) == ("seedance-2.0", "frames") and video.is_file()
    assert isinstance(task.body["firstFrameUrl"], str) and isinstance(task.body["lastFrameUrl"], str)
    assert task.body["returnLastFrame"] is True and "imageUrls" not in task.body
    assert price == f"{charged(rh_env)} (price preview)" == "≈2.40 CNY (price preview)"


def test_1_5_pro_first_and_last_frame_with_sound(rh_env, tmp_path, capsys):
    first, last = images(tmp_path, 2)
    video, price = run(capsys, "--model", "seedance-1.5-pro", "--start-image", first, "--end-image", last,
                       "--resolution", "720p", "--duration", "6", "--camera-fixed", "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode) == ("seedance-1.5-pro", "frames") and video.is_file()
    body = task.body  # 1.5 Pro: string booleans, aspectRatio, its own frame fields
    assert (body["generateAudio"], body["cameraFixed"], body["aspectRatio"]) == ("true", "true", "adaptive")
    assert isinstance(body["firstImageUrl"], str) and isinstance(body["lastImageUrl"], str) and "ratio" not in body
    assert price == f"{charged(rh_env)} (price preview)" == "≈1.92 CNY (price preview)"  # 0.16 x 6, doubled


def test_1_5_pro_fast_text_without_sound(rh_env, tmp_path, capsys):
    video, price = run(capsys, "--model", "seedance-1.5-pro-fast", "--no-generate-audio", "--duration", "4",
                       "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode) == ("seedance-1.5-pro-fast", "text") and video.is_file()
    assert (task.body["generateAudio"], task.body["aspectRatio"]) == ("false", "16:9")
    assert price == f"{charged(rh_env)} (price preview)" == "≈0.64 CNY (price preview)"  # 0.16 x 4, silent


def test_2_5_with_twelve_images_and_twenty_seconds(rh_env, tmp_path, capsys):
    video, price = run(capsys, "--model", "seedance-2.5", *sum((["--image", p] for p in images(tmp_path, 12)), []),
                       "--duration", "20", "--resolution", "480p", "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode) == ("seedance-2.5", "reference") and video.is_file()
    assert len(task.body["imageUrls"]) == 12 and task.body["duration"] == "20"
    assert task.body["omniReferenceTaskType"] == "auto" and "bitrateMode" not in task.body
    assert price == f"{charged(rh_env)} (price preview)"


def test_2_0_with_an_image_and_a_reference_video_is_priced_by_the_video_rule(rh_env, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(encode([(200, 120, 40)], 3, 64, 48).mp4)
    video, price = run(capsys, "--model", "seedance-2.0", "--image", images(tmp_path, 1)[0], "--video", str(clip),
                       "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert len(task.body["videoUrls"]) == 1 and video.is_file()
    assert price == f"{charged(rh_env)} (price preview)" == "≈7.20 CNY (price preview)"  # 9 x 0.8, not 5 x 1.2


def test_without_a_price_preview_the_table_says_the_same(rh_env, tmp_path, capsys):
    rh_env.inject("price_preview", "error_code", count=1, code="1000")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(encode([(200, 120, 40)], 3, 64, 48).mp4)
    _, price = run(capsys, "--model", "seedance-2.0", "--image", images(tmp_path, 1)[0], "--video", str(clip),
                   "--output-dir", str(tmp_path))
    assert price == f"{charged(rh_env)} (model table)" == "≈7.20 CNY (model table)"


def test_a_duration_the_model_chooses_is_a_range_that_holds_the_charge(rh_env, tmp_path, capsys):
    _, price = run(capsys, "--model", "seedance-2.0-fast", "--duration", "auto", "--resolution", "480p",
                   "--output-dir", str(tmp_path))
    (task,) = rh_env.tasks.values()
    assert task.body["duration"] == "-1"
    assert price == "≈2.00–7.50 CNY (model table, a range: the model chooses the duration)"  # 0.5 x 4 to 15
    assert 2.0 <= rh_env.counters.money_charged <= 7.5


# --- the nodes (through the ComfyUI stand-in) ---------------------------------------------------
COMMON = dict(site="cn", timeout_minutes=5, variation=0)


@pytest.mark.usefixtures("comfy")
def test_the_text_node_makes_a_video_from_a_prompt_alone(rh_env):
    from ..nodes.seedance_modes import SeedanceTextToVideo

    out = run_node(SeedanceTextToVideo, model="seedance-1.5-pro-fast", prompt="a lighthouse", resolution="720p",
                   duration=4, aspect_ratio="9:16", generate_audio=False, seed=-1, camera_fixed=True,
                   web_search=False, **COMMON)
    video, video_path, task_id, last_frame = out.args
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode, task_id) == ("seedance-1.5-pro-fast", "text", task.task_id)
    assert task.body == {"prompt": "a lighthouse", "duration": "4", "resolution": "720p", "aspectRatio": "9:16",
                         "generateAudio": "false", "cameraFixed": "true"}  # the neutral seed and web search left out
    assert Path(video_path).is_file() and last_frame.shape[-1] == 3


@pytest.mark.usefixtures("comfy")
def test_the_text_node_offers_duration_auto_where_the_model_takes_it_with_the_price_range(rh_env):
    from ..nodes import routes
    from ..nodes.seedance_modes import SeedanceTextToVideo

    widgets = dict(prompt="a lighthouse", resolution="480p", duration=6, aspect_ratio="16:9", generate_audio=False,
                   seed=-1, camera_fixed=False, web_search=False, **COMMON)
    run_node(SeedanceTextToVideo, model="seedance-2.0-fast", duration_auto=True, **widgets)
    (task,) = rh_env.tasks.values()
    assert task.body["duration"] == "-1"  # the model chooses; the duration widget is ignored
    info = routes.price("cn", "auto", "480p", model="seedance-2.0-fast", mode="text")  # the caption's question
    assert (info["price"], info["price_high"]) == (pytest.approx(2.0), pytest.approx(7.5))  # 0.5 x 4 to 15 s
    with pytest.raises(ValidationError, match="(?i)duration"):  # 1.5 Pro has no "auto": refused before upload
        run_node(SeedanceTextToVideo, model="seedance-1.5-pro", duration_auto=True, **widgets)
    assert rh_env.counters.submits == 1


@pytest.mark.usefixtures("comfy")
def test_the_frames_node_goes_from_a_start_image_to_an_end_image(rh_env):
    import torch

    from ..nodes.seedance_modes import SeedanceFramesToVideo

    start, end = (torch.from_numpy(solid_images(2)[i:i + 1]) for i in range(2))
    out = run_node(SeedanceFramesToVideo, model="seedance-2.0-fast", start_image=start, end_image=end, prompt="",
                   resolution="480p", duration=4, aspect_ratio="adaptive", generate_audio=True, seed=7,
                   camera_fixed=False, **COMMON)
    (task,) = rh_env.tasks.values()
    assert (task.model.id, task.mode) == ("seedance-2.0-fast", "frames") and out.args[2] == task.task_id
    assert "prompt" not in task.body and task.body["seed"] == 7  # the prompt is optional on 2.0 frames
    assert isinstance(task.body["firstFrameUrl"], str) and isinstance(task.body["lastFrameUrl"], str)


@pytest.mark.usefixtures("comfy")
def test_the_frames_node_refuses_a_switch_the_chosen_model_lacks(rh_env):
    import torch

    from ..nodes.seedance_modes import SeedanceFramesToVideo

    with pytest.raises(ValidationError, match="Camera fixed is not an option of Seedance 2.0"):
        run_node(SeedanceFramesToVideo, model="seedance-2.0", start_image=torch.from_numpy(solid_images(1)),
                 prompt="p", resolution="480p", duration=4, aspect_ratio="adaptive", generate_audio=True, seed=-1,
                 camera_fixed=True, **COMMON)
    assert rh_env.counters.requests_total == 0


@pytest.mark.usefixtures("comfy")
def test_the_2x_node_takes_2_5_with_more_videos_and_its_task_type(rh_env, tmp_path):
    import torch
    from comfy_api.latest import InputImpl

    from ..nodes.seedance2 import Seedance2ReferenceToVideo

    clips = {f"video_{i}": InputImpl.VideoFromFile(str(clip(tmp_path, 2, f"c{i}.mp4"))) for i in (1, 4)}
    run_node(Seedance2ReferenceToVideo, model="seedance-2.5", images=torch.from_numpy(solid_images(1)), prompt="edit",
             resolution="480p", duration=4, aspect_ratio="16:9", generate_audio=False, seed=-1, task_type="edit",
             bitrate="high", real_person=False, **clips, **COMMON)
    (task,) = rh_env.tasks.values()
    assert task.model.id == "seedance-2.5" and len(task.body["videoUrls"]) == 2
    assert (task.body["omniReferenceTaskType"], task.body["bitrateMode"]) == ("edit", "high")


# --- limits, refused before anything is read or uploaded -------------------------------------
@pytest.mark.parametrize("args, words", [
    (["--model", "seedance-1.5-pro", "--duration", "13"], "Duration '13'.*Seedance 1.5 Pro.*4 to 12"),
    (["--model", "seedance-1.5-pro-fast", "--resolution", "480p"], "Resolution '480p'.*1.5 Pro Fast.*720p, 1080p"),
    (["--model", "seedance-2.0-mini", "--image", "a.png", "--resolution", "native1080p"],
     "Resolution 'native1080p'.*2.0 Mini"),
    (["--model", "seedance-2.5", "--image", "a.png", "--duration", "31"], "Duration '31'.*Seedance 2.5.*4 to 30"),
    (["--model", "seedance-2.5", *["--image", "a.png"] * 31], "31 reference images given: Seedance 2.5 takes.*30"),
    (["--model", "seedance-2.0", "--mode", "frames", "--end-image", "b.png"], "needs a start image"),
    (["--mode", "text"], "Seedance v1-lite has no text mode.*seedance-1.5-pro"),
    (["--model", "seedance-2.0", "--web-search", "--image", "a.png"], "Web search is not an option of Seedance 2.0"),
    (["--model", "seedance-2.0", "--task-type", "edit", "--image", "a.png"], "Task type is not an option"),
    (["--model", "seedance-2.5", "--task-type", "edit", "--image", "a.png"], "'edit' needs at least one reference video"),
    (["--model", "seedance-1.5-pro", "--seed", "7"], "Seed is not an option of Seedance 1.5 Pro"),
])
def test_each_models_limits_are_refused_before_anything_is_read_or_sent(rh_env, tmp_path, capsys, args, words):
    assert main(["generate", "--prompt", "p", "--output-dir", str(tmp_path), *args]) == 2
    assert re.search(words, capsys.readouterr().err), words
    assert rh_env.counters.requests_total == 0  # the files named do not even exist


def test_a_mode_is_inferred_from_what_is_given():
    from ..runninghub_video.remote.request import infer_mode

    assert infer_mode("seedance-2.0", {models.FIRST_FRAME: 1, models.IMAGE: 0}) == "frames"
    assert infer_mode("seedance-2.0", {models.AUDIO: 1}) == "reference"
    assert infer_mode("seedance-2.0", {}) == "text"
    assert infer_mode("seedance-v1-lite", {}) == "reference"  # its only mode: then its own count check speaks


# --- prices of the table ---------------------------------------------------------------------
def cny(low: str, high: str | None = None) -> Price:
    return Price(Money(Decimal(low), "CNY"), Money(Decimal(high or low), "CNY"))


@pytest.mark.parametrize("request_, counts, price", [
    (VideoRequest("p", model="seedance-2.0", duration="5"), {models.VIDEO: 1}, cny("7.20")),  # the facts' example
    (VideoRequest("p", model="seedance-2.0", duration="5", resolution="1080p"), {models.VIDEO: 1},
     cny("8.60")),  # 9 x 0.8 + 5 x 0.28
    (VideoRequest("p", model="seedance-2.0-mini", duration="6", resolution="480p"), {models.VIDEO: 2},
     cny("2.00")),  # 10 x 0.2
    (VideoRequest("p", model="seedance-2.0", duration="5"), {models.IMAGE: 1}, cny("6.00")),
    (VideoRequest("p", model="seedance-1.5-pro", mode="text", duration="10", resolution="1080p"), {}, cny("7.00")),
    (VideoRequest("p", model="seedance-1.5-pro", mode="text", duration="10", resolution="1080p",
                  generate_audio=False), {}, cny("3.50")),
    (VideoRequest("p", model="seedance-2.5", duration="5"), {models.IMAGE: 1}, cny("9.45", "18.90")),  # tokens
    (VideoRequest("p", model="seedance-2.5", duration="auto", resolution="1080p"), {models.IMAGE: 1},
     cny("18.29", "264.75")),  # 4 s output-only to 30 s at twice the tokens, plus 0.32/s
    (VideoRequest("p", model="seedance-2.0-global", duration="auto"), {models.IMAGE: 1}, cny("4.80", "18.00")),
])
def test_the_table_prices_each_rule_as_published(request_, counts, price):
    assert request_.with_references(counts).validated().table_price("cn") == price


def test_prices_read_as_an_amount_or_a_range():
    assert format_price(cny("7.20")) == "≈7.20 CNY"
    assert format_price(cny("9.45", "18.90"), "zh") == "≈9.45–18.90 元"
    assert format_price(Price(Money(Decimal("1.32"), "USD"), Money(Decimal("2.64"), "USD"))) == "≈$1.32–$2.64"


def test_a_request_is_checked_once_and_kept_as_checked():
    checked = VideoRequest("p", model="seedance-2.0").with_references({models.IMAGE: 1}).validated()
    assert checked.validated() is checked
    with pytest.raises(ValidationError, match="10 reference images"):
        checked.with_references({models.IMAGE: 10}).validated()  # new counts: checked again


def test_the_waiting_line_shows_the_price_of_the_run_with_its_reference_video(rh_env, tmp_path):
    from ..runninghub_video.core.events import ProgressEvent
    from ..runninghub_video.run.pipeline import generate
    from ..runninghub_video.words.wording import describe

    rh_env.set_clock(queue_s=0.1, run_s=600.0)  # it runs until the line was seen running
    events: list[ProgressEvent] = []
    generate([solid_images(1)], VideoRequest("price", model="seedance-2.0", duration="4", resolution="480p"),
             videos=[clip(tmp_path, 3)], output_dir=tmp_path,
             on_progress=ending_once_running(rh_env, events))
    running = [e for e in events if e.state == "RUNNING"]
    assert running and all(describe(e).endswith(" · ≈2.80 CNY") for e in running)  # 7 x 0.4, not 4 x 0.6


def test_a_refused_widget_reads_in_chinese_on_the_node_and_in_the_dialog(rh_env, comfy, monkeypatch):  # noqa: F811
    """The text and frames nodes check their widgets under the node's status line, as the 2.x node does."""
    import torch

    from ..nodes import browser_language
    from ..nodes.seedance_modes import SeedanceFramesToVideo, SeedanceTextToVideo

    monkeypatch.setattr(browser_language, "_by_client", {})
    browser_language.set_language("zh-CN", "browser")
    comfy.client_id = "browser"
    with pytest.raises(ValidationError) as frames:
        run_node(SeedanceFramesToVideo, model="seedance-2.0", start_image=torch.from_numpy(solid_images(1)),
                 prompt="p", resolution="480p", duration=4, aspect_ratio="adaptive", generate_audio=True, seed=-1,
                 camera_fixed=True, **COMMON)
    assert str(frames.value) == "输入有误：“固定镜头”不是 Seedance 2.0（首尾帧生视频）的选项，请保持默认"  # the dialog
    assert comfy.kinds[-1] == "error" and comfy.texts[-1][1] == "失败：" + str(frames.value)
    with pytest.raises(ValidationError):
        run_node(SeedanceTextToVideo, model="seedance-1.5-pro", prompt="a lighthouse", resolution="480p",
                 duration=15, aspect_ratio="16:9", generate_audio=False, seed=-1, camera_fixed=False,
                 web_search=False, **COMMON)
    assert comfy.texts[-1][1] == "失败：输入有误：Seedance 1.5 Pro 不支持时长 15：请用 4-12 的整数秒"
    assert rh_env.counters.requests_total == 0
