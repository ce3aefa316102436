"""What installers read: requirements.txt (ComfyUI-Manager, by hand) and pyproject.toml (Comfy Registry, pip).

The two must ask for the same packages with the same floors, or a pack installed one way behaves
differently from one installed the other way. The repository URL lives in pyproject.toml only, so
setting it before publishing is a one-line change.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".mp4", ".zip", ".pyc", ".db"}
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _parse(lines: list[str]) -> dict[str, str]:
    """{normalised name: specifier} of requirement lines, comments and blanks dropped."""
    parsed = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT.match(line)
        assert match, f"not a plain requirement: {line!r}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        assert name not in parsed, f"{name} listed twice"
        parsed[name] = match.group(2).replace(" ", "")
    return parsed


def _requirements_txt() -> dict[str, str]:
    return _parse((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())


def test_requirements_txt_and_pyproject_list_the_same_dependencies():
    assert _requirements_txt() == _parse(_pyproject()["project"]["dependencies"])


def test_every_dependency_has_a_floor_and_no_upper_bound():
    for name, spec in _requirements_txt().items():
        assert re.fullmatch(r">=\d+(\.\d+)*", spec), f"{name}{spec}: want exactly one floor (>=X.Y), no cap"


def test_torch_is_left_to_comfyui():
    # an installer that sees torch may swap ComfyUI's CUDA build for a multi-gigabyte other one
    assert "torch" not in _requirements_txt()


def test_repository_url_is_written_in_pyproject_only():
    url = _pyproject()["project"]["urls"]["Repository"].rstrip("/")
    owner_and_name = "/".join(url.split("/")[-2:])
    assert url.startswith("https://") and owner_and_name.count("/") == 1, url
    elsewhere = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not d.endswith(".egg-info")  # pip's build output
                   and d not in ("node_modules", "__pycache__", "build", "dist")]
        for name in files:
            path = Path(folder, name)
            if name == "pyproject.toml" or path.suffix.lower() in BINARY_SUFFIXES:
                continue
            if owner_and_name in path.read_text(encoding="utf-8", errors="replace"):
                elsewhere.append(str(path.relative_to(ROOT)))
    assert not elsewhere, f"{owner_and_name} also written in {elsewhere}: keep it in pyproject.toml only"
