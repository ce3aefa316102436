"""A batch in ComfyUI: RunningHub Prompt List's lists mapped over a video node the way ComfyUI maps
a node over list inputs (tests/comfy_standin/execution.py), in one queue item, at the account's limit."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch

from comfy_api.latest import io
from comfy_execution.graph_utils import ExecutionBlocker
from comfy_execution.utils import CurrentNodeContext
from execution import map_node_over_list  # the stand-in of ComfyUI's executor (tests/comfy_standin)

from ..nodes import comfy_bridge as bridge
from ..nodes.batch import PromptList, VideoGrid
from ..nodes.seedance import SeedanceReferenceToVideo
from ..runninghub_video.core.errors import ValidationError
from ..runninghub_video.ledger import inbox
from ..runninghub_video.media import sheet
from ..runninghub_video.ledger.journal import Journal
from .test_nodes import comfy  # noqa: F401  (the fixture: ComfyUI's modules as a prompt sees them)

from conftest import solid_images, tasks_held_until


def run_prompt_list(prompts: str, variations: int, upstream: list[str] | None = None):
    inputs = {"prompts": [prompts], "variations": [variations], "first_variation": [0]}
    if upstream is not None:
        inputs["prompt_list"] = upstream
    outputs, _ = asyncio.run(map_node_over_list(PromptList, inputs, node_id="3"))
    return outputs


def test_prompt_list_gives_every_prompt_line_times_every_variation_as_lists():
    prompts, variations, labels, count = run_prompt_list("a cat\n\n  a dog  \n", 2, upstream=["a bird"])
    assert prompts == ["a cat", "a cat", "a dog", "a dog", "a bird", "a bird"]
    assert variations == [0, 1, 0, 1, 0, 1] and count == [6]
    assert labels[3] == "2 · v1 · a dog"
    assert [o.is_output_list for o in PromptList.define_schema().outputs] == [True, True, True, False]


def test_prompt_list_without_prompts_says_so_and_the_dialog_names_it_runninghub():
    from execution import execution_error  # ComfyUI's own naming (tests/comfy_standin)

    with pytest.raises(ValidationError) as refused:
        run_prompt_list(" \n \n", 2)
    assert execution_error(refused.value) == {
        "exception_type": "RunningHub.ValidationError",
        "exception_message": "input problem: No prompts: write one prompt per line, or connect a list of prompts.\n"}


def test_prompt_list_without_prompts_says_so_in_the_browsers_language(monkeypatch):
    import sys
    import types

    from ..nodes import browser_language

    monkeypatch.setattr(browser_language, "_by_client", {})
    browser_language.set_language("zh-CN", "browser")  # the browser that queued the prompt (ComfyUI's client id)
    server = types.SimpleNamespace(PromptServer=types.SimpleNamespace(instance=types.SimpleNamespace(client_id="browser")))
    monkeypatch.setitem(sys.modules, "server", server)
    with pytest.raises(ValidationError) as refused:
        run_prompt_list(" \n \n", 2)
    assert str(refused.value) == "输入有误：没有提示词：每行写一条提示词，或连接一个提示词列表"


def test_prompt_list_without_prompts_says_so_before_anything_runs():
    with pytest.raises(ValidationError, match="one prompt per line"):
        run_prompt_list(" \n ", 2)


def most_at_once(emulator) -> int:
    spans = [(t.created, t.end) for t in emulator.tasks.values()]
    return max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)


def test_five_prompts_times_two_variations_run_as_one_batch_at_the_account_limit(rh_env, comfy):  # noqa: F811
    rh_env.concurrent_limit = 3
    rh_env.over_limit = "reject"
    rh_env.set_clock(queue_s=0.2)
    prompts, variations, labels, _ = run_prompt_list("\n".join(f"shot {i}" for i in range(1, 6)), 2)
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": prompts, "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": variations}
    (videos, paths, task_ids, frames), uis = tasks_held_until(rh_env, lambda: len(rh_env.tasks) == 3, lambda: asyncio.run(
        map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="prompt-1", node_id="7")), "three tasks at once")
    assert len(paths) == len(set(task_ids)) == 10 and all(Path(p).is_file() for p in paths)
    assert len(videos) == len(frames) == len(uis) == 10
    assert rh_env.counters.submits == rh_env.counters.submits_accepted == 10 and most_at_once(rh_env) == 3
    lines = [text for node, text in comfy.texts if node == "7"]
    assert lines[0] == "starting…" and lines.count("starting…") == 1  # one line for the batch, not ten
    assert all(line.startswith("batch of 10") for line in lines[1:])
    assert lines[-1] == "batch of 10: 10 saved · 0 running · 0 waiting · 1.40 CNY" and comfy.kinds[-1] == "done"
    rows = Journal().list(20)
    assert len({r.batch_id for r in rows}) == 1 and rows[0].batch_id == "comfy:prompt-1:7"
    assert sorted(r.batch_item for r in rows) == sorted(f"item {i}" for i in range(1, 11))

    (grid,), (preview,) = asyncio.run(map_node_over_list(VideoGrid, {"video_path": paths, "labels": labels}))
    assert isinstance(grid[0], torch.Tensor) and grid[0].shape[0] == 1 and grid[0].shape[-1] == 3
    (saved,) = preview["images"]
    assert (comfy.output_dir / saved["subfolder"] / saved["filename"]).is_file() and saved["type"] == "output"


def test_the_tab_groups_a_batchs_tasks_with_its_total(rh_env, comfy):  # noqa: F811
    prompts, variations, _, _ = run_prompt_list("one\ntwo", 1)
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": prompts, "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": variations}
    asyncio.run(map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="prompt-2", node_id="9"))
    page = inbox.page()
    (group,) = page["batches"]
    assert group["id"] == "comfy:prompt-2:9" and group["tasks"] == 2 and group["cost"] == pytest.approx(0.28)
    assert group["name"] == "Seedance v1-lite · node 9" and group["currency"] == "CNY"
    assert {t["batch"]["id"] for t in page["tasks"]} == {"comfy:prompt-2:9"}


def test_a_single_run_is_no_batch(rh_env, comfy):  # noqa: F811
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": ["alone"], "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": [0]}
    asyncio.run(map_node_over_list(SeedanceReferenceToVideo, inputs, node_id="4"))
    assert not any(text.startswith("batch") for _, text in comfy.texts)
    assert inbox.page()["batches"] == []


def test_the_schemas_use_comfyuis_list_flags():
    assert PromptList.define_schema().is_input_list and VideoGrid.define_schema().is_input_list
    assert isinstance(VideoGrid.define_schema().outputs[0], io.Image.Output)


def test_a_failed_item_gives_a_placeholder_the_others_are_delivered_and_the_grid_says_why(rh_env, comfy):  # noqa: F811
    rh_env.concurrent_limit = 1  # one at a time: the first task created is the first item's
    rh_env.fail_next_tasks("1501")
    prompts, variations, labels, _ = run_prompt_list("one\ntwo\nthree", 1)
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": prompts, "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": variations}
    before = SeedanceReferenceToVideo.fingerprint_inputs(prompt=None)
    (videos, paths, task_ids, frames), uis = asyncio.run(
        map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="p-1", node_id="5"))
    # the lists keep one item per prompt: the failed one is a placeholder, the others are delivered
    (f,) = [i for i, p in enumerate(paths) if p == ""]
    assert sum(1 for p in paths if p and Path(p).is_file()) == 2 and len(uis) == 2
    assert task_ids[f] in rh_env.tasks and len(set(task_ids)) == 3  # the failed task's id, to look it up
    assert isinstance(videos[f], ExecutionBlocker) and videos[f].message is None
    assert isinstance(frames[f], ExecutionBlocker) and sum(isinstance(x, ExecutionBlocker) for x in frames) == 1
    lines = [text for node, text in comfy.texts if node == "5"]
    assert lines[-1].startswith("batch of 3: 2 saved · 0 running · 0 waiting · 1 failed") and comfy.kinds[-1] == "error"
    assert lines[-1].splitlines()[-1].startswith(f"#{f + 1}: ") and lines[-1].endswith("(not charged)")
    # a node mapped over the list (Save Video…) skips the failed item; the grid draws all three
    (counts,), _ = asyncio.run(map_node_over_list(_FrameCount, {"frames": frames}))
    assert isinstance(counts[f], ExecutionBlocker) and [c for c in counts if c == 1] == [1, 1]
    prompt = {"5": {"class_type": "RunningHubSeedanceReferenceToVideo", "inputs": {}},
              "8": {"class_type": "RunningHubVideoGrid", "inputs": {"video_path": ["5", 1], "labels": ["3", 2]}}}
    (grid,), _ = asyncio.run(map_node_over_list(VideoGrid, {"video_path": paths, "labels": labels},
                                                prompt_id="p-1", node_id="8", prompt=prompt))
    cell = sheet.THUMB_WIDTH + sheet.GAP
    x, y = sheet.GAP + (f % 2) * cell + 2, sheet.GAP + (f // 2) * (grid[0].shape[1] // 2) + 2
    assert (grid[0][0, y, x] * 255).round().tolist() == list(sheet.FAILED_CARD)  # a red card, not a frame
    with CurrentNodeContext("p-1", "8", 0):  # what the card says: the video node's reason, found through the prompt
        why = bridge.batch_failure(prompt, "8", "video_path", f)
        assert "1501" in why and why.endswith("(not charged)")
        assert bridge.batch_failure(prompt, "8", "video_path", (f + 1) % 3) == ""  # a saved item has none
    # queuing again: ComfyUI runs the node again (its fingerprint moved), and only the failed one is paid
    assert SeedanceReferenceToVideo.fingerprint_inputs(prompt=None) != before
    asyncio.run(map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="p-2", node_id="5"))
    assert rh_env.counters.submits == 4


def test_an_item_whose_new_task_runninghub_cannot_find_yet_says_its_charge_is_not_known_and_is_asked_again(
        rh_env, comfy):  # noqa: F811
    rh_env.concurrent_limit = 1  # one at a time: the first task created is the first item's
    rh_env.inject("submit", "not_found_at_first", seconds=600)
    prompts, variations, _, _ = run_prompt_list("one\ntwo", 1)
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": prompts, "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": variations}
    for prompt_id in ("p-1", "p-2"):  # queued again while RunningHub still cannot find it: asked again, not paid
        (_, paths, task_ids, _), _ = asyncio.run(
            map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id=prompt_id, node_id="5"))
        (f,) = [i for i, p in enumerate(paths) if p == ""]
        line = [text for node, text in comfy.texts if node == "5"][-1]
        assert line.splitlines()[-1] == (
            f"#{f + 1}: RunningHub made task {task_ids[f]} but cannot find it yet (1004); it is not sent again: "
            "queue again later to ask once more, or fetch it with RunningHub Fetch Task · RunningHub: Task not "
            "found, please check the task ID | 任务不存在或已过期，请检查任务ID (charge not known yet)")
    rh_env.skip(600)  # RunningHub shows it at last: queued again, the same task is delivered, nothing paid again
    (_, again, again_ids, _), _ = asyncio.run(
        map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="p-3", node_id="5"))
    assert again_ids == task_ids and all(Path(p).is_file() for p in again)
    assert rh_env.counters.submits == 2


def test_a_single_run_that_fails_still_fails_the_node(rh_env, comfy):  # noqa: F811
    rh_env.fail_next_tasks("1501")
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": ["alone"], "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": [0]}
    with pytest.raises(Exception, match="1501|moderation"):
        asyncio.run(map_node_over_list(SeedanceReferenceToVideo, inputs, node_id="4"))


class _FrameCount(io.ComfyNode):
    """A node mapped over an IMAGE list, standing in for Save Video / Preview Image."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(node_id="FrameCount", inputs=[io.Image.Input("frames")], outputs=[io.Int.Output("n")])

    @classmethod
    def execute(cls, frames) -> io.NodeOutput:
        return io.NodeOutput(int(frames.shape[0]))


def test_grid_labels_draw_chinese_prompts_as_characters_not_boxes():
    font, covers = sheet._font()
    if covers("猫") != "猫":
        pytest.skip("no font covering Chinese on this system (fonts-noto-cjk, msyh.ttc, PingFang…)")
    glyph = [bytes(font.getmask(c)) for c in "猫狗"]
    assert glyph[0] != glyph[1]  # missing glyphs all draw the same box


def test_without_a_chinese_font_a_label_keeps_its_number_and_cuts_the_prompt():
    assert sheet._latin_part("2 · v1 · 一只猫在雨中") == "2 · v1 · …"
    assert sheet._latin_part("2 · v1 · a cat, café") == "2 · v1 · a cat, café"
