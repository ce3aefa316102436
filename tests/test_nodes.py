"""The ComfyUI nodes, end to end against the emulator, without ComfyUI installed.

How ComfyUI is stood in for:
- ``comfy_api.latest`` (``io``, ``ui``, ``InputImpl.VideoFromFile``) comes from ``tests/comfy_standin/``,
  put on ``sys.path`` below. It keeps ComfyUI's names and keyword arguments, so a schema that builds
  here declares the same inputs in ComfyUI, but it does not convert schemas to ComfyUI's V1/V3 wire
  format, validate graphs, cache outputs or run nodes the way ComfyUI's executor does.
- ComfyUI's runtime modules (``folder_paths``, ``server.PromptServer``, ``comfy.utils.ProgressBar``,
  ``comfy.model_management``) are small fakes put into ``sys.modules`` by the ``comfy`` fixture, with
  the same function names the bridge calls; they record what the nodes send instead of talking to a
  browser.
- Nodes are run by calling ``execute`` with keyword arguments the way ComfyUI does (optional inputs
  left out), with ``hidden.unique_id`` set to a node id.
What this does not check: the real frontend, websocket delivery, ComfyUI's own thread/event-loop
handling and interrupt plumbing — see the manual ComfyUI run in the developers' notes for those.
"""
from __future__ import annotations

import asyncio
import io as bytes_io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import types
from fractions import Fraction
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "comfy_standin"
if str(STANDIN) not in sys.path:
    sys.path.insert(0, str(STANDIN))

import comfy as comfy_package  # noqa: E402  (the stand-ins)
from comfy import model_management  # noqa: E402
from comfy import utils as comfy_utils  # noqa: E402
from comfy_api.latest import InputImpl, Types, io  # noqa: E402

from .. import nodes  # noqa: E402
from ..nodes import comfy_bridge  # noqa: E402
from ..nodes.frames import VideoToFrames  # noqa: E402
from ..nodes.seedance import FetchTask, SeedanceReferenceToVideo  # noqa: E402
from ..runninghub_video.core import errors  # noqa: E402
from ..runninghub_video.remote.models import V1_LITE  # noqa: E402
from ..runninghub_video.emulator import Emulator  # noqa: E402

from conftest import solid_images, tasks_held_until  # noqa: E402

NODE_ID = "7"
FAST = dict(duration=2, resolution="480p", aspect_ratio="16:9", camera_fixed=False, site="cn",
            timeout_minutes=5, variation=0)


# --- ComfyUI runtime fakes -----------------------------------------------------------------
class FakeComfy:
    """What ComfyUI has in sys.modules while it runs a prompt: output/user folders, the server (whose
    status texts are recorded), and the stand-in ``comfy.utils`` / ``comfy.model_management`` with
    ComfyUI's progress hook installed (it clears the Cancel flag and raises, as ComfyUI's does)."""

    def __init__(self, root: Path) -> None:
        self.output_dir = root / "output"
        self.user_dir = root / "user"
        self.output_dir.mkdir(parents=True)
        self.texts: list[tuple[str, str]] = []  # the node's status lines (pack's own websocket event)
        self.kinds: list[str] = []
        self.bars: list[tuple[str, int, int]] = []
        self.client_id: str | None = None

    @property
    def flag(self) -> bool:
        return model_management.processing_interrupted()

    @flag.setter
    def flag(self, value: bool) -> None:
        model_management.interrupt_current_processing(value)

    def modules(self) -> dict[str, types.ModuleType]:
        fake = self
        folder_paths = types.ModuleType("folder_paths")
        folder_paths.get_output_directory = lambda: str(fake.output_dir)
        folder_paths.get_user_directory = lambda: str(fake.user_dir)

        server = types.ModuleType("server")

        class Instance:
            @property
            def client_id(self):  # ComfyUI sets it from the running prompt's extra_data
                return fake.client_id

            def send_sync(self, event, data, sid=None):
                assert sid == fake.client_id  # to the browser that queued the prompt only
                if event == comfy_bridge.STATUS_EVENT:
                    fake.texts.append((data["node"], data["text"]))
                    fake.kinds.append(data["kind"])

        server.PromptServer = types.SimpleNamespace(instance=Instance())
        comfy_utils.install_hook(self.bars)
        model_management.interrupt_current_processing(False)
        return {"folder_paths": folder_paths, "server": server, "comfy": comfy_package,
                "comfy.utils": comfy_utils, "comfy.model_management": model_management}


@pytest.fixture
def comfy(tmp_path, monkeypatch):
    fake = FakeComfy(tmp_path / "comfyui")
    for name, module in fake.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(io.ComfyNode, "hidden", io.HiddenHolder.from_dict({io.Hidden.unique_id: NODE_ID}))
    return fake


def images(count: int) -> list[torch.Tensor]:
    return [torch.from_numpy(solid_images(count))]


def run(node, **kwargs) -> io.NodeOutput:
    return asyncio.run(node.execute(**kwargs))


# --- loading and schema --------------------------------------------------------------------
def test_pack_loads_without_key_network_heavy_imports_or_files(tmp_path):
    """Loaded the way ComfyUI loads a pack (a package named after its folder path)."""
    script = f"""
import importlib.util, json, sys
sys.path.insert(0, {str(STANDIN)!r})
spec = importlib.util.spec_from_file_location({str(ROOT).replace('.', '_x_')!r}, {str(ROOT / '__init__.py')!r})
pack = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = pack
spec.loader.exec_module(pack)
heavy = [m for m in ("torch", "av", "numpy", "PIL", "requests", "urllib3", "socket") if m in sys.modules]
print(json.dumps({{"heavy": heavy, "nodes": pack.NODE_CLASS_MAPPINGS and sorted(pack.NODE_CLASS_MAPPINGS),
                  "names": pack.NODE_DISPLAY_NAME_MAPPINGS, "web": pack.WEB_DIRECTORY}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNINGHUB_")}
    env["RUNNINGHUB_STATE_DIR"] = str(tmp_path / "state")
    env["RUNNINGHUB_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens: any network use would fail
    work = tmp_path / "cwd"
    work.mkdir()
    out = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["nodes"] == ["RunningHubFetchTask", "RunningHubPromptList", "RunningHubSeedance2ReferenceToVideo",
                             "RunningHubSeedanceFramesToVideo", "RunningHubSeedanceReferenceToVideo",
                             "RunningHubSeedanceTextToVideo", "RunningHubVideoGrid", "RunningHubVideoToFrames"]
    assert info["names"]["RunningHubSeedanceReferenceToVideo"] == "Seedance Reference to Video (RunningHub)"
    assert info["names"]["RunningHubSeedance2ReferenceToVideo"] == "Seedance 2.0 Reference to Video (RunningHub)"
    assert info["names"]["RunningHubVideoToFrames"] == "RunningHub Video to Frames"
    assert info["names"]["RunningHubFetchTask"] == "RunningHub Fetch Task"
    assert info["web"] == "./js"
    assert info["heavy"] == []
    assert list(work.iterdir()) == [] and not (tmp_path / "state").exists()


@pytest.mark.parametrize("node", nodes.NODES, ids=lambda n: n.__name__)
def test_every_node_input_and_output_explains_itself(node):
    schema = node.define_schema()
    assert schema.category == "RunningHub" and schema.description
    for item in schema.inputs + schema.outputs:
        assert item.tooltip and len(item.tooltip) > 10, item.id
    schema.validate()  # ComfyUI refuses a node whose input and output ids collide


@pytest.mark.parametrize("node", nodes.NODES, ids=lambda n: n.__name__)
def test_every_switch_reads_on_or_off_which_the_chinese_ui_shows_as_kai_or_guan(node):
    """Without label_on / label_off a switch reads true / false, in English in every language."""
    switches = [i for i in node.define_schema().inputs if i.io_type == "BOOLEAN"]
    assert all(i.label_on in ("on", "auto") and i.label_off == "off" for i in switches), \
        [(i.id, i.label_on, i.label_off) for i in switches]


def test_seedance_node_offers_the_documented_options_and_no_key_widget():
    schema = SeedanceReferenceToVideo.define_schema()
    by_id = {i.id: i for i in schema.inputs}
    assert list(by_id) == ["image_1", "image_2", "image_3", "image_4", "prompt", "duration", "resolution",
                           "aspect_ratio", "camera_fixed", "site", "timeout_minutes", "variation"]
    assert not any(("key" in name or "token" in name) for name in by_id)
    assert [by_id[f"image_{i}"].optional for i in range(1, 5)] == [False, True, True, True]
    assert all(by_id[f"image_{i}"].io_type == "IMAGE" for i in range(1, 5))
    assert by_id["prompt"].multiline
    assert (by_id["duration"].min, by_id["duration"].max, by_id["duration"].default) == (2, 12, 5)
    assert by_id["resolution"].options == list(V1_LITE.choices("resolution"))
    assert by_id["aspect_ratio"].options == list(V1_LITE.choices("aspect_ratio"))
    assert by_id["site"].options == ["cn", "ai"]
    assert by_id["camera_fixed"].io_type == "BOOLEAN" and by_id["camera_fixed"].default is False
    assert by_id["timeout_minutes"].default == 30 and by_id["variation"].default == 0
    assert "new video" in by_id["variation"].tooltip
    # last_frame is appended: workflows saved with the first three outputs keep their links
    assert [(o.display_name, o.io_type) for o in schema.outputs] == [("video", "VIDEO"), ("video_path", "STRING"),
                                                                    ("task_id", "STRING"), ("last_frame", "IMAGE")]
    assert io.Hidden.unique_id in schema.hidden and schema.is_output_node


def test_fetch_and_frames_nodes_have_the_promised_sockets():
    fetch = FetchTask.define_schema()
    assert [i.id for i in fetch.inputs] == ["task_id", "site", "timeout_minutes"]
    assert [o.io_type for o in fetch.outputs] == ["VIDEO", "STRING", "STRING", "IMAGE"]
    frames = VideoToFrames.define_schema()
    assert [(i.id, i.optional) for i in frames.inputs] == [("video", True), ("video_path", True),
                                                          ("max_frames", False), ("every_nth", False)]
    assert [(o.id, o.io_type) for o in frames.outputs] == [("images", "IMAGE"), ("fps", "FLOAT"),
                                                          ("frame_count", "INT"), ("audio", "AUDIO")]


def test_newer_v3_features_are_used_where_comfyui_offers_them_and_never_the_api_node_flag():
    by_node = {node: node.define_schema() for node in nodes.NODES}
    for schema in by_node.values():
        assert schema.is_api_node is False  # that would hide Run behind a Comfy.org sign-in
    seedance = {i.id: i for i in by_node[SeedanceReferenceToVideo].inputs}
    assert seedance["timeout_minutes"].advanced and seedance["variation"].advanced
    assert not seedance["prompt"].advanced and not seedance["duration"].advanced
    assert all(schema.search_aliases for schema in by_node.values())


def test_on_comfyui_0_3_64_the_schemas_use_no_keyword_it_lacks(monkeypatch):
    """0.3.64 has no ``advanced`` and no ``search_aliases`` and rejects unknown keywords."""
    class OldInt(io.Int.Input):
        def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, default=None,
                     min=None, max=None, step=None, control_after_generate=None, display_mode=None,
                     socketless=None, force_input=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, min, max, step,
                             control_after_generate, display_mode, socketless, force_input)

    newest_schema = io.Schema

    def old_schema(**kwargs):
        if "search_aliases" in kwargs:
            raise TypeError("Schema.__init__() got an unexpected keyword argument 'search_aliases'")
        return newest_schema(**kwargs)

    monkeypatch.setattr(io.Int, "Input", OldInt)
    monkeypatch.setattr(io, "Schema", old_schema)
    for node in nodes.NODES:
        schema = node.define_schema()
        assert not schema.search_aliases and not any(i.advanced for i in schema.inputs)


# --- running -------------------------------------------------------------------------------
def test_seedance_node_saves_video_shows_preview_and_live_status(rh_env, comfy):
    out = run(SeedanceReferenceToVideo, image_1=images(1)[0], image_2=torch.from_numpy(solid_images(2)[1:]),
              prompt="two colours", **FAST)
    video, video_path, task_id, last_frame = out.args
    path = Path(video_path)
    assert last_frame.dtype == torch.float32 and last_frame.shape == (1, 480, 864, 3)
    assert path.is_file() and path.parent == (comfy.output_dir / "runninghub").resolve()
    assert isinstance(video, InputImpl.VideoFromFile) and video.get_stream_source() == video_path
    assert task_id.isdigit() and path.name.endswith(f"_{task_id}.mp4")
    assert out.ui.as_dict() == {"images": [{"filename": path.name, "subfolder": "runninghub", "type": "output"}],
                                "animated": (True,)}
    (task,) = rh_env.tasks.values()
    assert len(task.body["imageUrls"]) == 2 and task.body["duration"] == "2"
    texts = [text for node_id, text in comfy.texts if node_id == NODE_ID]
    assert len(texts) == len(comfy.texts) and sum("elapsed" in t for t in texts) >= 2  # the 1 s ticker
    assert task_id in texts[-1] and path.name in texts[-1]
    assert comfy.bars and comfy.bars[-1] == (NODE_ID, comfy_bridge.BAR_STEPS, comfy_bridge.BAR_STEPS)


def test_a_prompt_queued_from_a_chinese_browser_gets_chinese_status(rh_env, comfy, monkeypatch):
    from ..nodes import browser_language, routes

    monkeypatch.setattr(browser_language, "_by_client", {})
    monkeypatch.setattr(routes, "_json", lambda data, status=200: data)
    handlers: dict = {}
    routes.add_routes(types.SimpleNamespace(get=lambda path: lambda fn: fn,
                                            post=lambda path: lambda fn: handlers.setdefault(path, fn)))

    class Request:  # what the browser's same-origin JSON POST looks like to the handler
        method = "POST"
        headers = {"Content-Type": "application/json", "Host": "127.0.0.1:8188", "Origin": "http://127.0.0.1:8188"}

        def __init__(self, body):
            self.body = body

        async def json(self):
            return self.body

    post = handlers["/runninghub/locale"]
    assert asyncio.run(post(Request({"locale": "zh-CN", "client_id": "zh-browser"}))) == {"language": "zh"}
    assert asyncio.run(post(Request({"locale": "en-US", "client_id": "en-browser"}))) == {"language": "en"}
    comfy.client_id = "zh-browser"  # ComfyUI sets it from the queued prompt's extra_data
    rh_env.set_clock(queue_s=1.2)  # long enough to be seen queued; it runs until seen running
    out = tasks_held_until(rh_env, lambda: any(t.startswith("运行中 · ") for _, t in comfy.texts),
                           lambda: run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="中文状态", **FAST),
                           "the running line")
    task_id, path = out.args[2], Path(out.args[1])
    texts = [text for node_id, text in comfy.texts if node_id == NODE_ID]
    assert len(texts) == len(comfy.texts) and sum("已用" in t for t in texts) >= 2  # the 1 s ticker, in Chinese
    assert texts[0] == "开始…" and comfy.kinds[0] == "start"
    assert any(t.startswith("正在上传参考图 1/1") for t in texts) and "正在提交" in texts
    assert any(t.startswith(("排队中 · ", "已提交 · ", "已创建 · ")) for t in texts)  # CREATE is queued too
    assert any(t.startswith("运行中 · ") for t in texts)
    assert re.fullmatch(rf"完成 · 任务 {task_id} · 0\.14 元 · 0:\d\d\n{re.escape(path.name)}", texts[-1])
    assert comfy.kinds[-1] == "done"
    english = ("elapsed", "in queue", "uploading", "submitting", "downloading", "RUNNING", "QUEUED", "done", "CNY")
    assert not [t for t in texts if any(word in t for word in english)]  # one channel, and it is Chinese
    comfy.client_id = "en-browser"  # the next prompt comes from an English browser on the same server
    run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="中文状态", **FAST)
    assert comfy.texts[-1][1].startswith(f"reused the saved video · task {task_id}")


def test_state_is_the_users_shared_with_the_cli_and_comfyuis_folder_is_the_earlier_one(comfy, monkeypatch):
    from ..runninghub_video.remote import config

    monkeypatch.setattr(config, "_comfy_user_dir", None)
    monkeypatch.delenv("RUNNINGHUB_STATE_DIR", raising=False)
    comfy_bridge.use_comfy_user_dir()
    assert config.state_dir() == config.user_config_dir()
    assert config.earlier_state_dir() == comfy.user_dir / config.APP_DIR_NAME
    assert not comfy.user_dir.exists()  # pointing at it writes nothing


def test_cancel_ends_the_node_within_one_second_as_comfy_interruption(comfy, tmp_path, monkeypatch):
    with Emulator(queue_s=0.2, run_s=60) as emu:
        monkeypatch.setenv("RUNNINGHUB_BASE_URL", emu.base_url)
        monkeypatch.setenv("RUNNINGHUB_API_KEY", emu.api_key)
        monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
        pressed: list[float] = []

        def press_cancel_once_submitted():
            deadline = time.monotonic() + 120  # against a hang only
            while time.monotonic() < deadline and not any("elapsed" in t for _, t in comfy.texts):
                time.sleep(0.05)
            pressed.append(time.monotonic())
            comfy.flag = True

        threading.Thread(target=press_cancel_once_submitted, daemon=True).start()
        with pytest.raises(model_management.InterruptProcessingException) as caught:
            run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="long one", **FAST)
        assert time.monotonic() - pressed[0] < 1.0
        (task_id,) = emu.tasks
        assert task_id in str(caught.value)  # how to get the paid video later
        assert comfy.flag  # left set, so other running nodes stop too
        assert comfy.kinds[-1] == "cancelled"  # the node's last line says so, never a stale "RUNNING · ~0:20 left"
        assert comfy.texts[-1][1].startswith(f"cancelled · task {task_id} keeps running · queue again to pick it up")
        assert "Fetch Task" in comfy.texts[-1][1]


def test_the_bar_only_moves_forward_and_is_full_only_with_the_video(rh_env, comfy):
    rh_env.set_clock(queue_s=1.0, run_s=3.0)
    run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="bar", **FAST)
    steps = [value for node_id, value, total in comfy.bars if node_id == NODE_ID]
    total = comfy.bars[0][2]
    assert len(steps) >= 4 and steps == sorted(set(steps))  # strictly forward
    assert steps[-1] == total and all(step < total for step in steps[:-1])


def test_a_bar_update_after_cancel_leaves_the_flag_set_for_the_other_nodes(comfy):
    """ComfyUI's progress hook clears the Cancel flag and raises; the bridge must not let it."""
    from ..runninghub_video.core.events import ProgressEvent

    progress = comfy_bridge.NodeProgress(NODE_ID)
    progress(ProgressEvent(phase="download", fraction=0.25))
    comfy.flag = True
    progress(ProgressEvent(phase="download", fraction=0.5))
    assert comfy.flag and comfy.bars == [(NODE_ID, comfy_bridge.BAR_STEPS // 4, comfy_bridge.BAR_STEPS)]


@pytest.mark.parametrize("base", [BaseException, Exception], ids=["newest ComfyUI", "ComfyUI 0.3.64"])
def test_comfyuis_own_interruption_reads_cancelled_never_failed(comfy, monkeypatch, base):
    interrupt = type("InterruptProcessingException", (base,), {})
    monkeypatch.setattr(model_management, "InterruptProcessingException", interrupt)

    async def decoding_when_cancel_comes():
        async with comfy_bridge.node_status(NODE_ID, paid=False):
            raise interrupt()

    with pytest.raises(interrupt):
        asyncio.run(decoding_when_cancel_comes())
    assert comfy.kinds == ["start", "cancelled"] and comfy.texts[-1] == (NODE_ID, "cancelled")


def test_a_broken_status_display_never_costs_the_paid_video(rh_env, comfy, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("websocket gone")

    monkeypatch.setattr(sys.modules["server"].PromptServer.instance.__class__, "send_sync", broken)
    out = run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="display broken", **FAST)
    assert Path(out.args[1]).is_file() and rh_env.counters.submits == 1


def test_fetch_task_node_downloads_an_existing_task(rh_env, comfy, tmp_path, monkeypatch):
    made = run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="fetch me", **FAST)
    task_id = made.args[2]
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "other-state"))  # a machine without the journal
    out = run(FetchTask, task_id=f" {task_id} ", site="cn", timeout_minutes=5)
    video, video_path, fetched_id, last_frame = out.args
    assert last_frame.shape == (1, 480, 864, 3)
    assert fetched_id == task_id and Path(video_path).is_file() and video_path != made.args[1]
    assert isinstance(video, InputImpl.VideoFromFile)
    assert out.ui.as_dict()["images"][0]["subfolder"] == "runninghub"
    assert rh_env.counters.submits == 1


@pytest.mark.parametrize("task_id,says", [("hello", "not a RunningHub task id"), ("201350878611073024", "18 digits"),
                                          ("https://www.runninghub.cn/call-api/call-record-detail/2013508786110730241",
                                           "a task of .cn (runninghub.cn), but the site chosen is .ai")])
def test_fetch_task_node_rejects_what_is_not_a_task_id_of_its_site(rh_env, comfy, task_id, says):
    with pytest.raises(errors.ValidationError, match=re.escape(says)):
        run(FetchTask, task_id=task_id, site="ai", timeout_minutes=1)
    assert rh_env.counters.requests_total == 0


@pytest.mark.parametrize("locale,line", [
    ("en", "no API key for .cn: add one in Settings → RunningHub"),
    ("zh-CN", ".cn 没有 API 密钥：请在 设置 → RunningHub 中填写"),
])
def test_without_a_key_the_node_and_the_dialog_point_to_the_settings_in_the_browsers_language(
        comfy, tmp_path, monkeypatch, locale, line):
    from ..nodes import browser_language

    for name in ("RUNNINGHUB_API_KEY", "RUNNINGHUB_API_KEY_AI", "RUNNINGHUB_BASE_URL", "RUNNINGHUB_SITE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "empty-state"))
    monkeypatch.setattr(browser_language, "_by_client", {})
    browser_language.set_language(locale, "browser")
    comfy.client_id = "browser"
    with pytest.raises(errors.ConfigError) as caught:
        run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="no key", **FAST)
    assert str(caught.value) == line  # the dialog: no CLI `login` inside the GUI
    assert comfy.kinds == ["start", "error"] and comfy.texts[-1][1].endswith(line)


def test_an_error_replaces_the_running_line_with_a_short_one_in_chinese(rh_env, comfy, monkeypatch):
    from ..nodes import browser_language

    monkeypatch.setattr(browser_language, "_by_client", {})
    browser_language.set_language("zh", "browser")
    comfy.client_id = "browser"
    rh_env.inject("submit", "error_code", code=1014)
    with pytest.raises(errors.KeyTypeError) as caught:
        run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="wrong key type", **FAST)
    assert str(caught.value).startswith("此密钥不能调用 Seedance（1014）") and "设置 → RunningHub" in str(caught.value)
    assert comfy.kinds[-1] == "error" and comfy.texts[-1][1].startswith("失败：此密钥不能调用 Seedance（1014）")


def test_comfyuis_error_dialog_names_a_pack_error_runninghub_and_its_class_not_the_packs_folder(rh_env, comfy):
    """ComfyUI names the class ``module.qualname``, and the pack's modules are named by its folder's
    whole path: the error leaving a node reads ``RunningHub.<class>: <short line>``."""
    from execution import execution_error  # ComfyUI's own naming (tests/comfy_standin)

    from ..runninghub_video.run import spend

    spend.set_daily_budget("cn", 0.1)
    with pytest.raises(spend.BudgetExceededError) as refused:
        run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="over budget", **FAST)
    with pytest.raises(errors.ValidationError) as bad_id:
        run(FetchTask, task_id="hello", site="cn", timeout_minutes=1)
    assert [execution_error(caught.value)["exception_type"] for caught in (refused, bad_id)] == \
        ["RunningHub.BudgetExceededError", "RunningHub.ValidationError"]
    assert execution_error(refused.value)["exception_message"].startswith("refused before any upload: this run")
    assert rh_env.counters.uploads == 0


def test_video_to_frames_reads_a_video_a_path_and_an_in_memory_file(rh_env, comfy):
    made = run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="frames", **FAST)
    video, video_path = made.args[:2]
    frames, fps, count, audio = run(VideoToFrames, video=video, max_frames=0, every_nth=1).args
    assert frames.dtype == torch.float32 and frames.shape == (48, 480, 864, 3) and count == 48 and fps == 24.0
    assert 0.0 <= float(frames.min()) and float(frames.max()) <= 1.0
    assert audio is None  # v1-lite videos are silent
    frames, fps, count, _ = run(VideoToFrames, video_path=f'"{video_path}"', max_frames=5, every_nth=2).args
    assert frames.shape[0] == count == 5 and fps == 12.0
    in_memory = InputImpl.VideoFromFile(bytes_io.BytesIO(Path(video_path).read_bytes()))
    frames, _, count, _ = run(VideoToFrames, video=in_memory, video_path="", max_frames=3, every_nth=1).args
    assert count == 3 and frames.shape[1:] == (480, 864, 3)


def test_video_to_frames_honours_a_trim_and_a_crop_carried_on_the_video(rh_env, comfy, monkeypatch):
    """Newer ComfyUI's Load Video trims and crops on the VIDEO and leaves the file alone: the frames
    must be the edited ones, exactly as ComfyUI's own decoding gives them."""
    made = run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="trim me", **FAST)
    path = made.args[1]
    whole = run(VideoToFrames, video=InputImpl.VideoFromFile(path), max_frames=0, every_nth=1).args[0]
    assert whole.shape == (48, 480, 864, 3)

    trimmed = InputImpl.VideoFromFile(path, start_time=0.5, duration=1.0)
    frames, fps, count, _ = run(VideoToFrames, video=trimmed, max_frames=0, every_nth=1).args
    assert count == 24 and fps == 24.0
    assert torch.allclose(frames[0], whole[12], atol=2 / 255)  # starts half a second in
    assert torch.allclose(frames, InputImpl.VideoFromFile(path, start_time=0.5, duration=1.0).get_components().images)

    from_end = InputImpl.VideoFromFile(path, start_time=-0.5)  # the last half second
    frames, _, count, _ = run(VideoToFrames, video=from_end, max_frames=0, every_nth=2).args
    assert count == 6 and torch.allclose(frames[-1], whole[46], atol=2 / 255)

    cropped = InputImpl.VideoFromFile(path, crop=(101, 51, 301, 201))  # snapped to even: 100, 50, 300x200
    frames, _, count, _ = run(VideoToFrames, video=cropped, max_frames=5, every_nth=1).args
    assert frames.shape == (5, 200, 300, 3) and count == 5
    assert torch.allclose(frames[0], whole[0, 50:250, 100:400], atol=2 / 255)
    assert comfy.kinds[-1] == "done" and comfy.texts[-1][1] == "5 frames · 24 fps"

    in_memory = InputImpl.VideoFromComponents(Types.VideoComponents(images=whole[:10], frame_rate=Fraction(24)))
    frames, fps, count, _ = run(VideoToFrames, video=in_memory, max_frames=0, every_nth=5).args
    assert count == 2 and fps == 4.8 and torch.equal(frames, whole[[0, 5]])


def test_an_unedited_video_is_decoded_from_its_file_not_through_comfyui(rh_env, comfy, monkeypatch):
    made = run(SeedanceReferenceToVideo, image_1=images(1)[0], prompt="plain", **FAST)

    def not_this_way(self):
        raise AssertionError("an unedited file is decoded directly (progress, Cancel, less memory)")

    monkeypatch.setattr(InputImpl.VideoFromFile, "get_components", not_this_way)
    frames, _, count, _ = run(VideoToFrames, video=InputImpl.VideoFromFile(made.args[1], crop=(0, 0, 0, 0)),
                           max_frames=3, every_nth=1).args
    assert count == 3 and frames.shape == (3, 480, 864, 3)


def test_video_to_frames_without_a_source_says_what_to_connect(comfy):
    with pytest.raises(errors.ValidationError, match="Connect a VIDEO or give a video_path"):
        run(VideoToFrames, video_path="  ", max_frames=0, every_nth=1)


# --- without ComfyUI -----------------------------------------------------------------------
def test_bridge_outside_comfyui_is_quiet_and_never_cancelled(tmp_path, monkeypatch, caplog):
    for name in ("folder_paths", "server", "comfy", "comfy.utils", "comfy.model_management"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.chdir(tmp_path)
    from ..runninghub_video.core.events import ProgressEvent

    assert comfy_bridge.output_directory() == tmp_path / "runninghub_output"
    assert comfy_bridge.interrupted() is False
    progress = comfy_bridge.NodeProgress(NODE_ID)
    with caplog.at_level(logging.DEBUG, logger="RunningHub"):
        progress(ProgressEvent(phase="running", state="RUNNING", elapsed_s=1.0, fraction=0.5))
    assert "progress display failed" not in caplog.text  # a quiet no-op, not a swallowed error
    exc = errors.Interrupted("Cancelled by the user.")
    assert comfy_bridge.interruption(exc) is exc
    assert list(tmp_path.iterdir()) == []


def test_example_workflow_wires_load_image_to_our_node_which_saves_the_video_itself():
    workflow = json.loads((ROOT / "example_workflows" / "Seedance reference image to video.json").read_text("utf-8"))
    by_id = {n["id"]: n for n in workflow["nodes"]}
    types_ = sorted(n["type"] for n in workflow["nodes"])
    assert types_.count("LoadImage") >= 1 and "SaveVideo" not in types_
    assert "RunningHubSeedanceReferenceToVideo" in types_
    ours = next(n for n in workflow["nodes"] if n["type"] == "RunningHubSeedanceReferenceToVideo")
    widgets = [i.id for i in SeedanceReferenceToVideo.define_schema().inputs if i.io_type != "IMAGE"]
    assert len(ours["widgets_values"]) == len(widgets)
    for link_id, src, src_slot, dst, dst_slot, kind in workflow["links"]:
        assert src in by_id and dst in by_id
        assert by_id[src]["outputs"][src_slot]["type"] == kind
        assert by_id[dst]["inputs"][dst_slot]["link"] == link_id
    assert workflow["last_link_id"] >= max(link[0] for link in workflow["links"])
    assert workflow["last_node_id"] >= max(by_id)
