"""`pip install .`: the client package and the `runninghub-video` command, nothing of the ComfyUI pack.

ComfyUI loads the pack from its folder (root __init__.py, nodes/, js/); pip installs only
``runninghub_video`` so the CLI works from anywhere. Built with pip (it fetches setuptools).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pip_installs_the_client_and_a_runninghub_video_command_that_works_outside_the_repo(tmp_path):
    source = tmp_path / "source"  # a copy: building writes an .egg-info folder into the source tree
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info",
                                                                 "tests", "bench", "build", "dist"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert {n.split("/")[0] for n in names} == {"runninghub_video", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    assert "runninghub-video = runninghub_video.cli:main" in entry_points

    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    for command in ([sys.executable, "-m", "runninghub_video", "--help"], [str(target / "bin" / "runninghub-video"),
                                                                          "--help"]):
        done = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "demo" in done.stdout and "fetch" in done.stdout
    assert "usage: runninghub-video" in done.stdout  # the command names itself as it was called
