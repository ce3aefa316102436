"""The extension's JavaScript: its text formatting under node's own test runner, and its shape.

CI has node 20; a missing ``node`` fails here on purpose (the JS would otherwise go untested).
"""
from __future__ import annotations

import re
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


def test_format_module_has_no_dom_and_no_imports():
    source = (JS / "format.js").read_text(encoding="utf-8")
    assert not re.search(r"^\s*import\s", source, re.M)
    assert "document" not in source and "window" not in source


def test_extension_imports_only_comfyui_and_its_own_files():
    for path in JS.glob("*.js"):
        for target in re.findall(r"""^\s*import\s.*?from\s+["']([^"']+)["']""", path.read_text(encoding="utf-8"), re.M):
            assert target.startswith(("./", "../../scripts/")), f"{path.name} imports {target}"
            if target.startswith("./"):
                assert (JS / target).is_file(), f"{path.name} imports missing {target}"


def test_key_never_goes_into_a_setting_value_or_browser_storage():
    source = (JS / "runninghub.js").read_text(encoding="utf-8")
    assert "localStorage" not in source and "sessionStorage" not in source
    assert "setting.set(" not in source and "settingStore" not in source
    assert 'type: "password"' in source
