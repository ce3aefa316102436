"""The extension's JavaScript under node's own test runner: its text (tests/js/*format*.test.mjs) and
the extension itself against stand-ins of ComfyUI's app, api and DOM (tests/js/extension.test.mjs).

CI has node 20; a missing ``node`` fails here on purpose (the JS would otherwise go untested).
"""
from __future__ import annotations

import re

import pytest
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js"


def test_format_module_passes_its_node_tests():
    node = shutil.which("node")
    assert node, "node (>= 20) is needed to test js/format.js: install Node.js (CI uses node 20)"
    tests = sorted(str(p) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert tests, "no tests/js/*.test.mjs found"
    done = subprocess.run([node, "--test", *tests], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"^# fail 0$", done.stdout, re.M), done.stdout[-2000:]


# --- locales (ComfyUI: locales/<lang>/main.json, nodeDefs.json, settings.json) ---------------
import json  # noqa: E402

from .. import nodes  # noqa: E402

LOCALES = ROOT / "locales"


def _locale(lang: str, name: str) -> dict:
    return json.loads((LOCALES / lang / name).read_text(encoding="utf-8"))


def _keys(data, prefix=""):
    if isinstance(data, dict):
        return {k for key, value in data.items() for k in _keys(value, f"{prefix}{key}.")} | {prefix.rstrip(".")}
    return {prefix.rstrip(".")}


def test_chinese_node_texts_cover_every_node_input_and_output_of_our_schemas():
    """English node texts are the schemas' own: the frontend shows them wherever ``locales/en`` has no
    key (its ``st(key, schema text)`` in 1.27.10, the 0.3.64 floor's, and the backend value in 1.58),
    so the pack ships no English copy. Chinese must name every node, input and output."""
    zh = _locale("zh", "nodeDefs.json")
    assert set(zh) == {node.define_schema().node_id for node in nodes.NODES}
    for node in nodes.NODES:
        schema = node.define_schema()
        entry = zh[schema.node_id]
        assert entry["display_name"] != schema.display_name and entry["description"]
        assert set(entry["inputs"]) == {i.id for i in schema.inputs}, schema.node_id
        assert set(entry["outputs"]) == {str(k) for k in range(len(schema.outputs))}, schema.node_id
        for where, texts, slots in (("input", entry["inputs"], {i.id: i for i in schema.inputs}),
                                    ("output", entry["outputs"], {str(k): o for k, o in enumerate(schema.outputs)})):
            for key, slot in slots.items():
                text = texts[key]
                assert text["name"] and bool(text.get("tooltip")) == bool(slot.tooltip), \
                    f"{schema.node_id} {where} {key}: locales/zh/nodeDefs.json is stale"


@pytest.mark.parametrize("name", ["main.json", "settings.json"])
def test_chinese_has_every_english_text(name):
    en, zh = _locale("en", name), _locale("zh", name)
    assert _keys(zh) == _keys(en)
    assert zh != en


def test_settings_texts_cover_every_setting_of_the_extension():
    sites = re.search(r"const SITES = \{([^}]*)\}", (JS / "format.js").read_text(encoding="utf-8")).group(1)
    keys = [re.search(r'siteSettings\("(\w+)"', (JS / name).read_text(encoding="utf-8")).group(1)
            for name in ("runninghub.js", "inbox.js")]
    ids = {f"RunningHub_{key}_{site}" for key in keys for site in re.findall(r"(\w+):", sites)}
    assert ids == {"RunningHub_ApiKey_cn", "RunningHub_ApiKey_ai", "RunningHub_Budget_cn", "RunningHub_Budget_ai"}
    for lang in ("en", "zh"):
        assert set(_locale(lang, "settings.json")) == ids



def test_registry_package_leaves_development_files_out():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    comfy = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["comfy"]
    for field in ("PublisherId", "DisplayName", "includes", "requires-comfyui"):
        assert comfy.get(field), f"[tool.comfy] {field} is empty"
    ignored = (ROOT / ".comfyignore").read_text(encoding="utf-8").split()
    assert {"tests/", "bench/", ".ci/"} <= set(ignored)
    assert not {"js/", "locales/", "example_workflows/", "nodes/", "runninghub_video/"} & set(ignored)


def test_every_frontend_file_the_pack_names_exists():
    """A docstring, comment or README line that points to a js/ file points to one that is shipped."""
    named = {}
    for path in [*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md"), *(ROOT / "nodes").glob("*.py"),
                 *(ROOT / "runninghub_video").rglob("*.py"), *JS.glob("*.js")]:
        for name in re.findall(r"\bjs/([\w.-]+\.js)\b", path.read_text(encoding="utf-8")):
            named.setdefault(name, path.relative_to(ROOT).as_posix())
    assert named, "the search finds the names it should"
    missing = {name: where for name, where in named.items() if not (JS / name).is_file()}
    assert missing == {}, f"js/ files named but missing: {missing}"
