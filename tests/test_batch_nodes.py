"""A batch in ComfyUI: RunningHub Prompt List's lists mapped over a video node the way ComfyUI maps
a node over list inputs (tests/comfy_standin/execution.py), in one queue item, at the account's limit."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch

from comfy_api.latest import io
from execution import map_node_over_list  # the stand-in of ComfyUI's executor (tests/comfy_standin)

from ..nodes.batch import PromptList, VideoGrid
from ..nodes.seedance import SeedanceReferenceToVideo
from ..runninghub_video.core.errors import ValidationError
from ..runninghub_video.ledger import inbox
from ..runninghub_video.ledger.journal import Journal
from .test_nodes import comfy  # noqa: F401  (the fixture: ComfyUI's modules as a prompt sees them)

from conftest import solid_images


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


def test_prompt_list_without_prompts_says_so_before_anything_runs():
    with pytest.raises(ValidationError, match="one prompt per line"):
        run_prompt_list(" \n ", 2)


def most_at_once(emulator) -> int:
    spans = [(t.created, t.end) for t in emulator.tasks.values()]
    return max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)


def test_five_prompts_times_two_variations_run_as_one_batch_at_the_account_limit(rh_env, comfy):  # noqa: F811
    rh_env.concurrent_limit = 3
    rh_env.over_limit = "reject"
    rh_env.set_clock(queue_s=0.2, run_s=1.0)
    prompts, variations, labels, _ = run_prompt_list("\n".join(f"shot {i}" for i in range(1, 6)), 2)
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": prompts, "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": variations}
    (videos, paths, task_ids, frames), uis = asyncio.run(
        map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="prompt-1", node_id="7"))
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


def test_a_failed_item_fails_the_node_only_after_the_others_are_saved_and_queuing_again_pays_only_for_it(
        rh_env, comfy):  # noqa: F811
    rh_env.concurrent_limit = 1  # one at a time: the first task created is the first item's
    rh_env.fail_next_tasks("1501")
    prompts, variations, _, _ = run_prompt_list("one\ntwo\nthree", 1)
    inputs = {"image_1": [torch.from_numpy(solid_images(1))], "prompt": prompts, "duration": [2],
              "resolution": ["480p"], "aspect_ratio": ["16:9"], "camera_fixed": [False], "site": ["cn"],
              "timeout_minutes": [5], "variation": variations}
    with pytest.raises(Exception, match="1501|moderation"):
        asyncio.run(map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="p-1", node_id="5"))
    assert sum(1 for r in Journal().list(10) if r.has_video) == 2
    assert [text for node, text in comfy.texts if node == "5"][-1].startswith("batch of 3: 2 saved · 0 running · "
                                                                               "0 waiting · 1 failed")
    asyncio.run(map_node_over_list(SeedanceReferenceToVideo, inputs, prompt_id="p-2", node_id="5"))
    assert rh_env.counters.submits == 4  # the failed one again; the two saved ones reused
