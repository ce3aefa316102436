"""The example workflows (ComfyUI's template browser lists every ``example_workflows/*.json`` with
its ``<name>.jpg`` thumbnail) load against our node definitions and the core nodes they use.

Our nodes are read from their schemas (through the comfy_api stand-in). Core nodes are listed
below by hand, copied from ComfyUI 0.3.64's definitions (nodes.py, comfy_extras/nodes_video.py,
comfy_extras/nodes_post_processing.py): the names, types and widget counts a workflow refers to.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .. import nodes
from ..runninghub_video.remote.models import V1_LITE

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "example_workflows"
WORKFLOWS = sorted(FOLDER.glob("*.json"))
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}

# type: inputs [(name, type, is_widget, optional)], outputs [(name, type)], widgets_values count
CORE_NODES = {
    "LoadImage": ([("image", "COMBO", True, False)], [("IMAGE", "IMAGE"), ("MASK", "MASK")], 2),  # + upload button
    "ImageBlur": ([("image", "IMAGE", False, False), ("blur_radius", "INT", True, False),
                   ("sigma", "FLOAT", True, False)], [("IMAGE", "IMAGE")], 2),
    "ImageInvert": ([("image", "IMAGE", False, False)], [("IMAGE", "IMAGE")], 0),
    "CreateVideo": ([("images", "IMAGE", False, False), ("fps", "FLOAT", True, False),
                     ("audio", "AUDIO", False, True)], [("VIDEO", "VIDEO")], 1),
    "LoadVideo": ([("file", "COMBO", True, False)], [("VIDEO", "VIDEO")], 2),  # + upload button
    "GetVideoComponents": ([("video", "VIDEO", False, False)],
                           [("images", "IMAGE"), ("audio", "AUDIO"), ("fps", "FLOAT")], 0),
    "SaveVideo": ([("video", "VIDEO", False, False), ("filename_prefix", "STRING", True, False),
                   ("format", "COMBO", True, False), ("codec", "COMBO", True, False)], [], 3),
}


def has_control(spec) -> bool:
    """An INT with an after-generate control (or named seed: the frontend adds one) saves two values."""
    return spec.io_type == "INT" and bool(getattr(spec, "control_after_generate", None) or spec.id == "seed")


def is_widget(spec) -> bool:
    """A value type shows a widget unless it is forced to be a socket (``force_input``)."""
    return spec.io_type in WIDGET_TYPES and not getattr(spec, "force_input", None)


def our_definitions() -> dict:
    """Node id → (inputs, outputs, widget count, schema) the way ComfyUI's V1 wire names them."""
    out = {}
    for node in nodes.NODES:
        schema = node.define_schema()
        # ComfyUI sends required inputs first, then optional ones: widgets_values follow that order.
        ordered = [i for i in schema.inputs if not i.optional] + [i for i in schema.inputs if i.optional]
        inputs = [(i.id, i.io_type, is_widget(i), bool(i.optional)) for i in ordered]
        outputs = [(o.display_name or o.io_type, o.io_type) for o in schema.outputs]
        widgets = sum(1 + has_control(i) for i in ordered if is_widget(i))
        out[schema.node_id] = (inputs, outputs, widgets, schema)
    return out


DEFINITIONS = {**{k: (*v, None) for k, v in CORE_NODES.items()}, **our_definitions()}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


ONE = "Seedance reference image to video"
FOUR = "Seedance four references, frames and post processing"


def test_the_template_browser_shows_human_titles():
    """Custom-node templates are titled (and described) by their file name in every frontend."""
    for path in WORKFLOWS:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9 ,.]+", path.stem), f"{path.name}: a title, not an identifier"


def test_there_are_both_examples_the_issue_asks_for():
    names = {p.stem for p in WORKFLOWS}
    assert {ONE, FOUR} <= names
    four = load(FOLDER / f"{FOUR}.json")
    types = [n["type"] for n in four["nodes"]]
    assert types.count("LoadImage") == 4
    assert {"RunningHubSeedanceReferenceToVideo", "RunningHubVideoToFrames", "CreateVideo", "SaveVideo"} <= set(types)
    assert {"ImageBlur", "ImageInvert"} & set(types)


@pytest.mark.parametrize("name", ["Seedance 2.0 images, video and audio, then last frame",
                                  "Seedance 2.0 in Chinese, images, video and audio, then last frame"])
def test_the_seedance_2_example_chains_a_clip_with_sound_into_a_second_clip(name):
    """Two images, a reference video and its sound -> a clip with sound -> its last frame -> clip 2."""
    workflow = load(FOLDER / f"{name}.json")
    by_id = {n["id"]: n for n in workflow["nodes"]}
    links = {link[0]: link for link in workflow["links"]}
    first, second = sorted((n for n in workflow["nodes"] if n["type"] == "RunningHubSeedance2ReferenceToVideo"),
                           key=lambda n: n["pos"][0])

    def source(node, input_name):
        slot = next(i for i in node["inputs"] if i["name"] == input_name)
        link = links[slot["link"]]
        return by_id[link[1]]["type"], by_id[link[1]]["outputs"][link[2]]["name"]

    assert source(first, "images") == source(first, "images_2") == ("LoadImage", "IMAGE")
    assert source(first, "video_1") == ("LoadVideo", "VIDEO")
    assert source(first, "audio_1") == ("GetVideoComponents", "audio")
    assert source(second, "images") == ("RunningHubSeedance2ReferenceToVideo", "last_frame")
    if name.endswith(", Chinese"):
        assert all(re.search(r"[\u4e00-\u9fff]", n["title"]) for n in workflow["nodes"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_example_has_a_jpeg_thumbnail(path):
    thumb = path.with_suffix(".jpg")  # the frontend asks for <name>.jpg, nothing else
    assert thumb.is_file(), f"{thumb.name} missing: the template browser would show a broken image"
    assert thumb.read_bytes()[:3] == b"\xff\xd8\xff", f"{thumb.name} is not a JPEG"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_node_matches_its_definition(path):
    workflow = load(path)
    for node in workflow["nodes"]:
        where = f"{path.name} node {node['id']} ({node['type']})"
        assert node["type"] in DEFINITIONS, f"{where}: unknown node type"
        inputs, outputs, widget_count, _ = DEFINITIONS[node["type"]]
        saved = [(o["name"], o["type"]) for o in node.get("outputs", [])]
        # A workflow saved before an output was appended has fewer; its links keep their slots.
        assert saved == outputs[:len(saved)] and (saved or not outputs), where
        by_name = {name: (io_type, is_widget) for name, io_type, is_widget, _ in inputs}
        for slot in node.get("inputs", []):
            assert slot["name"] in by_name, f"{where}: no input {slot['name']!r}"
            io_type, is_widget = by_name[slot["name"]]
            assert slot["type"] == io_type, f"{where}: input {slot['name']} is {io_type}"
            assert ("widget" in slot) == is_widget, f"{where}: input {slot['name']} widget flag"
        # A workflow saved before sockets or widgets were appended has fewer (the frontend gives the
        # new widgets their defaults); the ones it has keep their order.
        sockets = [s["name"] for s in node.get("inputs", []) if "widget" not in s]
        assert sockets == [n for n, _, w, _ in inputs if not w][:len(sockets)], f"{where}: socket inputs and order"
        assert len(sockets) >= sum(1 for _, _, w, optional in inputs if not w and not optional), where
        assert len(node.get("widgets_values", [])) <= widget_count, f"{where}: widget count"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_link_joins_an_output_and_an_input_of_the_same_type(path):
    workflow = load(path)
    by_id = {n["id"]: n for n in workflow["nodes"]}
    assert len(by_id) == len(workflow["nodes"]), "duplicate node ids"
    assert workflow["last_node_id"] >= max(by_id)
    link_ids = [link[0] for link in workflow["links"]]
    assert len(set(link_ids)) == len(link_ids) and workflow["last_link_id"] >= max(link_ids)
    for link_id, source, source_slot, target, target_slot, link_type in workflow["links"]:
        output = by_id[source]["outputs"][source_slot]
        target_input = by_id[target]["inputs"][target_slot]
        assert output["type"] == link_type == target_input["type"], f"link {link_id}"
        assert link_id in (output.get("links") or []), f"link {link_id} missing from its output"
        assert target_input["link"] == link_id, f"link {link_id} missing from its input"
    linked = {(link[3], link[4]) for link in workflow["links"]}
    for node in workflow["nodes"]:
        for slot, entry in enumerate(node.get("inputs", [])):
            if entry.get("link") is not None:
                assert (node["id"], slot) in linked, f"node {node['id']} input {entry['name']} names a missing link"
        inputs = DEFINITIONS[node["type"]][0]
        for name, _, is_widget, optional in inputs:
            if not is_widget and not optional:
                slot = [s["name"] for s in node["inputs"]].index(name)
                assert (node["id"], slot) in linked, f"node {node['id']} required input {name} is not connected"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_our_widget_values_are_ones_our_nodes_accept(path):
    for node in load(path)["nodes"]:
        definition = DEFINITIONS[node["type"]]
        schema = definition[3]
        if schema is None:
            continue
        ordered = [i for i in schema.inputs if not i.optional] + [i for i in schema.inputs if i.optional]
        widgets = [i for i in ordered if is_widget(i)]
        values_iter = iter(node["widgets_values"])
        for n, spec in enumerate(widgets):
            value = next(values_iter, None)
            if value is None:  # saved before these widgets were appended: the frontend gives them their defaults
                appended = [w.id for w in widgets[n:]]
                names = [w.id for w in widgets]
                assert "variation" in names and names.index("variation") < n, f"{path.name}: {appended} missing"
                break
            if has_control(spec):
                assert next(values_iter) == "fixed", f"{path.name} node {node['id']}: {spec.id} control must be fixed"
            where = f"{path.name} node {node['id']} {spec.id}={value!r}"
            if spec.io_type == "COMBO":
                assert value in spec.options, where
            elif spec.io_type == "INT":
                assert isinstance(value, int) and spec.min <= value <= spec.max, where
            elif spec.io_type == "BOOLEAN":
                assert isinstance(value, bool), where
            elif spec.io_type == "STRING":
                assert isinstance(value, str), where
        linked = {slot["name"] for slot in node.get("inputs", []) if slot.get("link") is not None}
        if node["type"] == "RunningHubSeedanceReferenceToVideo" and "prompt" not in linked:  # else a prompt list's
            values = dict(zip((w.id for w in widgets), node["widgets_values"]))
            assert values["prompt"].strip() and len(values["prompt"]) <= V1_LITE.prompt_max_chars


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_no_example_carries_a_key(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"(?i)api_?key\"\s*:", text)
    assert not re.search(r"\b[A-Za-z0-9]{32}\b", text)


def test_nothing_but_workflows_in_the_template_folder():
    # ComfyUI lists every *.json there as a template, and the browser shows only <name>.jpg.
    for path in FOLDER.iterdir():
        assert path.suffix in (".json", ".jpg"), f"{path.name} would confuse the template browser"
        if path.suffix == ".jpg":
            assert path.with_suffix(".json").is_file(), f"{path.name} has no workflow"


def test_no_example_saves_the_same_video_twice():
    """The Seedance nodes save their MP4 themselves: a Save Video fed straight from one is a second copy."""
    for path in WORKFLOWS:
        workflow = load(path)
        by_id = {n["id"]: n for n in workflow["nodes"]}
        for _, src, _, dst, _, kind in workflow["links"]:
            if kind == "VIDEO" and by_id[dst]["type"] == "SaveVideo":
                assert not by_id[src]["type"].startswith("RunningHub"), f"{path.name} saves the video twice"


def test_the_batch_example_feeds_a_prompt_list_through_a_video_node_into_a_grid():
    batch = load(FOLDER / "Seedance batch, five prompts times two variations, grid.json")
    by_id = {n["id"]: n["type"] for n in batch["nodes"]}
    joined = {(by_id[src], src_slot, by_id[dst]) for _, src, src_slot, dst, _, _ in batch["links"]}
    assert {("RunningHubPromptList", 0, "RunningHubSeedanceReferenceToVideo"),
            ("RunningHubPromptList", 1, "RunningHubSeedanceReferenceToVideo"),
            ("RunningHubSeedanceReferenceToVideo", 1, "RunningHubVideoGrid"),
            ("RunningHubPromptList", 2, "RunningHubVideoGrid")} <= joined
    prompts, variations, _ = next(n for n in batch["nodes"] if n["type"] == "RunningHubPromptList")["widgets_values"]
    assert len(prompts.strip().splitlines()) == 5 and variations == 2
