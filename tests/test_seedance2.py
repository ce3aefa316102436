"""Seedance 2.0: images, videos and audio in; a video with sound and its last frame out — and the
model table that lets v1-lite, 2.0 and 2.0 Fast share one code path."""
from __future__ import annotations

import dataclasses
import io
from decimal import Decimal
from pathlib import Path

import av
import numpy as np
import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.remote import facts, models
from ..runninghub_video.remote.wire import TaskStatus
from ..runninghub_video.ledger.journal import Journal
from ..runninghub_video.media.clips import wav_bytes
from ..runninghub_video.core.money import Money, Price
from ..runninghub_video.run.pipeline import fetch_task, generate
from ..runninghub_video.remote.request import VideoRequest

from conftest import clip, image_bytes, solid_images, tone
from .test_nodes import comfy, run  # noqa: F401  (comfy is a fixture: ComfyUI's runtime modules, faked)

V2 = dict(model="seedance-2.0", duration="4", resolution="480p")
PRICE_V2_WITH_VIDEO = 0.4 * 7  # 480p x 4 s with a reference video: ceil(5/3 x 4) = 7 billed seconds at 0.4 CNY/s


def streams(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [s.type for s in container.streams]


# --- the model table -----------------------------------------------------------------------
def test_v1_lite_body_is_exactly_what_it_was():
    body = VideoRequest("a fox", duration="3", resolution="480p", camera_fixed=True).validated().body(["u1", "u2"])
    assert body == {"prompt": "a fox", "imageUrls": ["u1", "u2"], "duration": "3", "cameraFixed": "true",
                    "resolution": "480p", "aspectRatio": "16:9"}


def test_seedance_2_body_uses_its_own_field_names_and_real_json_booleans():
    request = VideoRequest("a fox", aspect_ratio="9:16", generate_audio=False, last_frame=True, **V2).validated()
    body = request.body({"image": ["i"], "video": ["v"], "audio": ["a"]})
    assert body == {"prompt": "a fox", "imageUrls": ["i"], "videoUrls": ["v"], "audioUrls": ["a"], "duration": "4",
                    "resolution": "480p", "ratio": "9:16", "generateAudio": False, "returnLastFrame": True}
    assert "seed" not in body  # -1 (random) is the default: the catalog-only field is left out
    only_video = VideoRequest("a fox", seed=7, **V2).validated().body({"video": ["v"]})
    assert only_video["seed"] == 7 and "imageUrls" not in only_video and only_video["ratio"] == "adaptive"
    assert only_video["generateAudio"] is True and "returnLastFrame" not in only_video


@pytest.mark.parametrize("request_, words", [
    (VideoRequest("p", model="seedance-2.0", duration="3"), "Duration '3'.*Seedance 2.0.*4 to 15"),
    (VideoRequest("p", model="seedance-2.0-fast", resolution="native1080p"), "native1080p.*Seedance 2.0 Fast"),
    (VideoRequest("p", model="seedance-2.0", camera_fixed=True), "Camera fixed is not an option of Seedance 2.0"),
    (VideoRequest("p", generate_audio=True), "Generate audio is not an option of Seedance v1-lite"),
    (VideoRequest("p", model="seedance-2.0", seed=2**31), "Seed 2147483648 is out of range.*-1 = random"),
    (VideoRequest("p", model="seedance-2.0", aspect_ratio="2:1"), "Aspect ratio '2:1'.*adaptive"),
    (VideoRequest("x" * 20481, model="seedance-2.0"), "20481 characters.*at most 20480"),
    (VideoRequest("p", model="seedance-3"), "Model 'seedance-3' is not known"),
])
def test_each_model_refuses_what_its_table_does_not_allow(request_, words):
    with pytest.raises(errors.ValidationError, match=words):
        request_.validated()


def _table_price(site: str, resolution: str, duration: int, model: str = "seedance-v1-lite") -> Price | None:
    return VideoRequest("p", model=model, resolution=resolution, duration=str(duration)).validated().table_price(site)


def test_prices_come_from_each_models_table():
    cny = lambda amount: Price.exact(Money(Decimal(amount), "CNY"))  # noqa: E731 -- the site's currency
    assert _table_price("cn", "720p", 5, "seedance-2.0") == cny("6.0")
    assert _table_price("cn", "1080p", 10, "seedance-2.0-fast") == cny("12.8")
    assert _table_price("cn", "480p", 3).low.amount == Decimal("0.21")  # exact: 0.07 * 3 is 0.21000000000000002
    assert _table_price("cn", "480p", 2) == cny("0.14")
    assert _table_price("ai", "720p", 5, "seedance-2.0") is None  # USD prices are unknown


def test_results_are_told_apart_by_output_type_not_position():
    status = TaskStatus("1", "SUCCESS", results=[{"url": "https://x/last.png", "outputType": "png"},
                                                 {"url": "https://x/v?sig=1", "outputType": "mp4"}])
    assert status.video_url == "https://x/v?sig=1" and status.image_url == "https://x/last.png"
    untyped = TaskStatus("1", "SUCCESS", results=[{"url": "https://x/a.jpg"}, {"url": "https://x/b.mp4"}])
    assert untyped.video_url == "https://x/b.mp4" and untyped.image_url == "https://x/a.jpg"


# --- end to end against the emulator -------------------------------------------------------
def test_images_a_video_and_audio_make_a_video_with_sound_and_its_last_frame(rh_env, tmp_path):
    video = clip(tmp_path, 3)
    result = generate([solid_images(2)], VideoRequest("multimodal", last_frame=True, **V2),
                      videos=[video], audios=[tone(2.5)], output_dir=tmp_path)
    assert streams(result.video_path) == ["video", "audio"]
    (task,) = rh_env.tasks.values()
    assert task.model.id == "seedance-2.0" and task.body["generateAudio"] is True and task.body["returnLastFrame"]
    assert (len(task.body["imageUrls"]), len(task.body["videoUrls"]), len(task.body["audioUrls"])) == (2, 1, 1)
    assert rh_env.counters.uploads == 4 and rh_env.counters.money_charged == pytest.approx(PRICE_V2_WITH_VIDEO)
    # the last frame is RunningHub's image (served by the emulator as the PNG result)
    frame = result.last_frame_path
    assert frame == result.video_path.with_name(result.video_path.stem + "_last_frame.png") and frame.is_file()
    from PIL import Image

    assert Image.open(frame).size == (864, 480)
    assert rh_env.counters.requests_total > rh_env.counters.queries + rh_env.counters.uploads + 2  # png fetched
    # band 3 of the picture is the reference video's first-frame colour
    arr = np.asarray(Image.open(frame).convert("RGB"))
    assert np.abs(arr[240, 864 * 5 // 6].astype(int) - (200, 120, 40)).max() < 24  # two H.264 generations


def test_generate_audio_off_gives_a_silent_video(rh_env, tmp_path):
    result = generate([solid_images(1)], VideoRequest("silent", generate_audio=False, **V2), output_dir=tmp_path)
    assert streams(result.video_path) == ["video"] and result.last_frame_path is None


def test_a_last_frame_image_redirected_to_a_plain_http_host_is_not_fetched(rh_env, tmp_path, caplog):
    """The image URL comes from the server like the video's: every hop must be https (0.0.0.0 is no
    loopback address, and nothing listens on port 9: were it followed, nothing would leave this machine)."""
    rh_env.inject("last_frame", "redirect", location="http://0.0.0.0:9/frame.png")
    with caplog.at_level("WARNING", logger="RunningHub"):
        result = generate([solid_images(1)], VideoRequest("redirected frame", last_frame=True, **V2),
                          output_dir=tmp_path)
    assert "The last-frame image redirected to a non-https address (http://0.0.0.0); not followed" in caplog.text
    assert result.last_frame_path.is_file()  # decoded from the paid MP4 instead


def test_a_video_only_request_is_fine_and_its_last_frame_is_decoded_when_not_asked_from_runninghub(rh_env, tmp_path):
    result = generate([], VideoRequest("video only", **V2), videos=[clip(tmp_path, 2)], output_dir=tmp_path)
    from ..runninghub_video.media import last_frame

    png = last_frame.save(result.video_path)  # no image result: decoded from the MP4
    assert last_frame.load_rgb(png).shape == (480, 864, 3)


def test_the_journal_row_names_the_model(rh_env, tmp_path):
    result = generate([solid_images(1)], VideoRequest("old row", duration="2", resolution="480p"), output_dir=tmp_path)
    row = Journal().get(result.task_id)
    assert row.model == "seedance-v1-lite" and row.request["model"] == "seedance-v1-lite"


def test_fetch_recovers_a_2_0_task_on_another_machine_with_its_last_frame(rh_env, tmp_path, monkeypatch):
    made = generate([solid_images(1)], VideoRequest("fetch", last_frame=True, **V2), output_dir=tmp_path)
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "other"))
    got = fetch_task(made.task_id, output_dir=tmp_path / "elsewhere", want_last_frame=True)
    assert streams(got.video_path) == ["video", "audio"] and got.last_frame_path.is_file()
    assert rh_env.counters.submits == 1


# --- bad references: refused before any upload, naming the limit ---------------------------
def _bad_cases(folder: Path) -> list:
    return [
        ("10 images", dict(images=[solid_images(4), solid_images(4), solid_images(2)]),
         r"10 reference images given: Seedance 2.0 takes between 0 and 9"),
        ("4 videos", dict(videos=[clip(folder, 2, f"v{i}.mp4") for i in range(4)]),
         r"4 reference videos given: Seedance 2.0 takes between 0 and 3"),
        ("video too long", dict(videos=[clip(folder, 16, "long.mp4")]), r"video 1 lasts 16.0 s.*2–15 s each"),
        ("video too short", dict(videos=[clip(folder, 1, "short.mp4")]), r"video 1 lasts 1.0 s.*2–15 s each"),
        ("videos too long together", dict(videos=[clip(folder, 8, "a.mp4"), clip(folder, 8, "b.mp4")]),
         r"videos last 16.0 s together.*at most 15 s"),
        ("not a video", dict(videos=[folder / "notes.mp4"]), r"video 1 \(notes.mp4\) could not be read"),
        ("missing video", dict(videos=[folder / "nope.mp4"]), r"video 1: file not found"),
        ("audio too short", dict(audios=[tone(1.0)]), r"audio 1 lasts 1.0 s.*2–15 s each"),
        ("audio too long together", dict(audios=[tone(8), tone(8)]), r"audio clips last 16.0 s together"),
        ("4 audio clips", dict(audios=[tone(2)] * 4), r"4 reference audio clips given.*between 0 and 3"),
        ("audio only", dict(images=[], audios=[tone(3)]), r"needs at least 1 reference \(an image or a video\)"),
        ("nothing", dict(images=[]), r"needs at least 1 reference"),
    ]


def test_bad_references_of_each_kind_are_refused_before_any_upload(rh_env, tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    for name, given, words in _bad_cases(tmp_path):
        args = {"images": [solid_images(1)], "videos": [], "audios": [], **given}
        with pytest.raises(errors.ValidationError, match=words):
            generate(args["images"], VideoRequest(name, **V2), videos=args["videos"], audios=args["audios"],
                     output_dir=tmp_path)
    assert rh_env.counters.uploads == 0 and rh_env.counters.submits == 0


def test_a_reference_video_over_the_size_limit_is_refused_naming_it(rh_env, tmp_path, monkeypatch):
    reference = models.SEEDANCE_2.endpoint(models.REFERENCE)
    small = dataclasses.replace(reference.rule("video"), max_bytes=1000)
    endpoint = dataclasses.replace(reference, media=(reference.media[0], small, reference.media[2]))
    model = dataclasses.replace(models.SEEDANCE_2, endpoints=(endpoint, *models.SEEDANCE_2.endpoints[1:]))
    monkeypatch.setitem(models.MODELS, "seedance-2.0", model)
    with pytest.raises(errors.ValidationError, match=r"video 1 is 0\.0 MB: Seedance 2.0 takes reference videos of "
                                                     r"at most 0 MB"):
        generate([solid_images(1)], VideoRequest("big", **V2), videos=[clip(tmp_path, 3)], output_dir=tmp_path)
    assert rh_env.counters.uploads == 0


def test_v1_lite_takes_no_videos_or_audio(rh_env, tmp_path):
    with pytest.raises(errors.ValidationError, match="Seedance v1-lite takes no videos; seedance-2.0, .*seedance-2.5"):
        generate([solid_images(1)], VideoRequest("v1", duration="2", resolution="480p"),
                 videos=[clip(tmp_path, 2)], output_dir=tmp_path)
    with pytest.raises(errors.ValidationError, match="Seedance v1-lite takes no audio clips"):
        generate([solid_images(1)], VideoRequest("v1", duration="2", resolution="480p"), audios=[tone(2)],
                 output_dir=tmp_path)
    assert rh_env.counters.uploads == 0


def test_audio_files_and_other_containers_become_references(tmp_path):
    from ..runninghub_video.media.clips import audio_from_file, video_reference

    wav = tmp_path / "a.wav"
    wav.write_bytes(wav_bytes(np.zeros((2, 16000 * 3), np.float32), 16000))
    ref = audio_from_file(wav)
    assert ref.extension == "wav" and ref.data == wav.read_bytes() and ref.seconds == pytest.approx(3.0)
    sound = clip(tmp_path, 3, "with_sound.mp4", sound=True)
    as_wav = audio_from_file(sound)  # a video's sound track becomes WAV
    assert as_wav.extension == "wav" and as_wav.seconds == pytest.approx(3.0, abs=0.1)
    avi = tmp_path / "clip.avi"  # MPEG-4 part 2 in AVI: re-encoded to H.264 MP4
    with av.open(str(avi), "w") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(72):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    converted = video_reference(avi)
    assert converted.data[4:8] == b"ftyp" and converted.seconds == pytest.approx(3.0, abs=0.1)
    with av.open(io.BytesIO(converted.data)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


# --- the emulator's 2.0 endpoints ----------------------------------------------------------
def _upload(emu, data: bytes, name: str) -> str:
    import requests


    reply = requests.post(emu.base_url + facts.UPLOAD_PATH, headers={"Authorization": f"Bearer {emu.api_key}"},
                          files={"file": (name, data, "application/octet-stream")}, timeout=10).json()
    assert reply["code"] == 0, reply
    return reply["data"]["download_url"]


def _post(emu, path: str, body: dict) -> dict:
    import requests

    return requests.post(emu.base_url + path, headers={"Authorization": f"Bearer {emu.api_key}"}, json=body,
                         timeout=10).json()


def test_emulator_validates_2_0_bodies_as_documented(emulator, tmp_path):
    from ..runninghub_video.emulator.state import realistic_run_s

    image = _upload(emulator, image_bytes((10, 200, 30)), "a.png")
    video = _upload(emulator, clip(tmp_path, 3).read_bytes(), "v.mp4")
    long_video = _upload(emulator, clip(tmp_path, 16, "long.mp4").read_bytes(), "long.mp4")
    audio = _upload(emulator, wav_bytes(np.zeros((1, 48000)), 16000), "a.wav")
    ok = {"prompt": "p", "resolution": "480p", "duration": "4", "imageUrls": [image], "videoUrls": [video],
          "audioUrls": [audio], "generateAudio": True, "ratio": "adaptive", "returnLastFrame": True}
    path = models.SEEDANCE_2.endpoint().submit_path
    refused = [
        {**ok, "generateAudio": "true"},  # v1-lite's string booleans are wrong here
        {**ok, "ratio": "2:1"}, {**ok, "duration": "3"}, {**ok, "duration": 4},
        {**ok, "videoUrls": [image]},  # an image where a video belongs
        {**ok, "videoUrls": [long_video]}, {**ok, "imageUrls": [], "videoUrls": []},  # audio alone
        {**ok, "imageUrls": [image] * 10}, {**ok, "seed": "5"},
    ]
    for body in refused:
        assert _post(emulator, path, body)["errorCode"] == "1007", body
    assert _post(emulator, models.SEEDANCE_2_FAST.endpoint().submit_path, {**ok, "resolution": "native1080p"})["errorCode"] == "1007"
    price = _post(emulator, models.SEEDANCE_2.endpoint().price_preview_path, ok)
    assert price["estimatedPrice"] == pytest.approx(PRICE_V2_WITH_VIDEO)
    assert _post(emulator, path, ok)["errorCode"] == ""
    assert realistic_run_s({"resolution": "720p", "duration": "5"}, models.SEEDANCE_2) > \
        realistic_run_s({"resolution": "720p", "duration": "5"}, models.V1_LITE) >= 60


# --- the command line ----------------------------------------------------------------------
def test_cli_generate_seedance_2_prints_an_mp4_with_sound_and_a_png(rh_env, tmp_path, capsys, monkeypatch):
    from ..runninghub_video.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.png").write_bytes(image_bytes())
    (tmp_path / "voice.wav").write_bytes(wav_bytes(np.zeros((1, 16000 * 3), np.float32), 16000))
    code = main(["generate", "--model", "seedance-2.0", "--image", "a.png", "--video", str(clip(tmp_path, 3)),
                 "--audio", "voice.wav", "--prompt", "cli", "--duration", "4", "--resolution", "480p",
                 "--aspect-ratio", "9:16", "--seed", "42", "--last-frame"])
    assert code == 0
    video, frame = (Path(line) for line in capsys.readouterr().out.split())
    assert video.is_absolute() and video.suffix == ".mp4" and streams(video) == ["video", "audio"]
    assert frame.suffix == ".png" and frame.is_file()
    (task,) = rh_env.tasks.values()
    assert task.body["ratio"] == "9:16" and task.body["seed"] == 42 and "aspectRatio" not in task.body


def test_cli_refuses_an_option_of_another_model_before_reading_files(rh_env, tmp_path, capsys):
    from ..runninghub_video.cli import main

    assert main(["generate", "--model", "seedance-2.0", "--image", "missing.png", "--prompt", "p",
                 "--camera-fixed"]) == 2
    assert "Camera fixed is not an option of Seedance 2.0" in capsys.readouterr().err
    assert main(["generate", "--image", "missing.png", "--prompt", "p", "--duration", "15"]) == 2
    assert "2 to 12" in capsys.readouterr().err
    assert rh_env.counters.requests_total == 0


# --- the node (through the ComfyUI stand-in) -----------------------------------------------
def test_seedance_2_node_schema_reads_the_model_table():
    from ..nodes.seedance2 import Seedance2ReferenceToVideo

    schema = Seedance2ReferenceToVideo.define_schema()
    by_id = {i.id: i for i in schema.inputs}
    assert schema.node_id == "RunningHubSeedance2ReferenceToVideo"
    assert schema.display_name == "Seedance 2.0 Reference to Video (RunningHub)"
    assert by_id["model"].options == ["seedance-2.0", "seedance-2.0-fast", "seedance-2.0-mini", "seedance-2.0-global",
                                      "seedance-2.0-global-fast", "seedance-2.0-global-mini", "seedance-2.5",
                                      "seedance-2.5-global"]
    assert by_id["model"].default == "seedance-2.0"
    # 2.0's sockets where they were; 2.5's extra ones after every earlier input (saved links keep their slots)
    assert [n for n, i in by_id.items() if i.io_type in ("IMAGE", "VIDEO", "AUDIO")] == [
        "images", "images_2", "images_3", "video_1", "video_2", "video_3", "audio_1", "audio_2", "audio_3",
        *(f"video_{i}" for i in range(4, 11)), *(f"audio_{i}" for i in range(4, 11))]
    assert all(by_id[n].optional for n in ("images", "video_1", "audio_1", "video_10"))
    # the frontend shows these sockets as they are connected, up to the chosen model's counts (js/sockets.js)
    counts = by_id["model"].extra_dict["runninghub_references"]
    assert counts["seedance-2.0"] == {"label": "Seedance 2.0", "image": 9, "video": 3, "audio": 3}
    assert counts["seedance-2.5-global"] == {"label": "Seedance 2.5 (global)", "image": 30, "video": 10, "audio": 10}
    assert list(counts) == by_id["model"].options
    assert by_id["resolution"].options == ["480p", "720p", "1080p", "native1080p", "2k", "4k"]
    assert (by_id["duration"].min, by_id["duration"].max, by_id["duration"].default) == (4, 30, 5)
    widgets = [i.id for i in schema.inputs if i.io_type in ("INT", "COMBO", "BOOLEAN", "STRING")]
    assert widgets[-7:] == ["site", "timeout_minutes", "variation", "real_person", "task_type", "bitrate",
                            "duration_auto"]  # added last: saved workflows keep their values
    assert by_id["aspect_ratio"].options[0] == by_id["aspect_ratio"].default == "adaptive"
    assert by_id["generate_audio"].default is True
    seed = by_id["seed"]
    assert (seed.default, seed.min, seed.max) == (-1, -1, 2**31 - 1) and seed.control_after_generate
    assert [(o.display_name, o.io_type) for o in schema.outputs] == [
        ("video", "VIDEO"), ("video_path", "STRING"), ("task_id", "STRING"), ("last_frame", "IMAGE")]
    assert not any("key" in name for name in by_id)


@pytest.mark.usefixtures("comfy")
def test_seedance_2_node_turns_video_and_audio_inputs_into_a_video_with_sound(rh_env, tmp_path, monkeypatch):
    import tempfile

    import torch
    from comfy_api.latest import InputImpl

    from ..nodes.seedance2 import Seedance2ReferenceToVideo

    temp = tmp_path / "temp"  # this test's own temp folder: other processes share the system one
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    source = clip(tmp_path, 6, colour=(30, 60, 220))
    trimmed = InputImpl.VideoFromFile(str(source), start_time=1.0, duration=3.0)  # Load Video's trim
    options = dict(model="seedance-2.0", prompt="node", resolution="480p", duration=4, aspect_ratio="16:9",
                   generate_audio=True, seed=-1, site="cn", timeout_minutes=5, variation=0)
    out = run(Seedance2ReferenceToVideo, images=torch.from_numpy(solid_images(2)), video_1=trimmed,
              audio_2=tone(2.5, channels=2), **options)
    video, video_path, task_id, last_frame = out.args
    assert streams(Path(video_path)) == ["video", "audio"] and task_id.isdigit()
    assert last_frame.shape == (1, 480, 864, 3) and last_frame.dtype == torch.float32
    (task,) = rh_env.tasks.values()
    uploaded = rh_env.state.upload_for("/" + task.body["videoUrls"][0].split("/", 3)[3])
    with av.open(io.BytesIO(uploaded)) as container:  # the trim was applied before the upload
        assert float(container.duration / av.time_base) == pytest.approx(3.0, abs=0.15)
    assert task.body["audioUrls"] and "seed" not in task.body and task.body["returnLastFrame"] is True
    assert not list(temp.iterdir())  # the temporary reference MP4 was removed


def test_queuing_the_same_node_inputs_again_reuses_the_video_and_a_variation_pays_again(rh_env, comfy, tmp_path):  # noqa: F811
    """Images, a trimmed Load Video and an audio clip, as ComfyUI hands them over: the trim is made
    again byte for byte, so the same inputs show the saved video, its last frame and say "reused"."""
    import torch
    from comfy_api.latest import InputImpl

    from ..nodes.seedance2 import Seedance2ReferenceToVideo

    trimmed = InputImpl.VideoFromFile(str(clip(tmp_path, 4)), start_time=1.0, duration=2.0)
    options = dict(model="seedance-2.0", prompt="same", resolution="480p", duration=4, aspect_ratio="16:9",
                   generate_audio=True, seed=-1, site="cn", timeout_minutes=5, variation=0)

    def queue(**change):
        return run(Seedance2ReferenceToVideo, images=torch.from_numpy(solid_images(1)), video_1=trimmed,
                   audio_1=tone(2), **{**options, **change})

    first, again = queue(), queue()
    assert again.args[1:3] == first.args[1:3] and rh_env.counters.submits == 1  # path and task id
    assert torch.equal(again.args[3], first.args[3])  # the same last frame
    assert "reused" in comfy.texts[-1][1]
    other = queue(variation=1)
    assert other.args[2] != first.args[2] and rh_env.counters.submits == 2
