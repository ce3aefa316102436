"""The command line: demo, generate, status, fetch, list and login, as a user types them."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ..runninghub_video.remote import config
from ..runninghub_video.cli import main

from conftest import image_bytes

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_whole_pipeline_without_a_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNINGHUB_")}
    env["HOME"] = str(tmp_path / "home")  # the demo must not need, or touch, a user's config
    out = subprocess.run([sys.executable, "-m", "runninghub_video", "demo", "--output-dir", str(tmp_path / "out")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1248x704, 24 fps, 120 frames" in out.stdout
    video = Path(out.stdout.split("video:")[1].split()[0])
    sheet = Path(out.stdout.split("contact sheet:")[1].split()[0])
    assert video.is_file() and video.parent == (tmp_path / "out" / "runninghub").resolve()
    assert Image.open(sheet).size[0] > 0
    assert not (tmp_path / "home").exists()


def test_generate_prints_the_absolute_path_of_the_saved_video(rh_env, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = tmp_path / "a.png"
    a.write_bytes(image_bytes((200, 30, 30)))
    b = tmp_path / "b.png"
    b.write_bytes(image_bytes((30, 30, 200)))
    code = main(["generate", "--image", str(a), "--image", str(b), "--prompt", "cli test", "--duration", "2",
                 "--resolution", "480p", "--aspect-ratio", "1:1", "--camera-fixed"])
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 0
    path = Path(printed)
    assert path.is_absolute() and path.is_file() and path.parent == tmp_path / "runninghub_output" / "runninghub"
    (task,) = rh_env.tasks.values()
    assert task.body["aspectRatio"] == "1:1" and task.body["cameraFixed"] == "true" and len(task.body["imageUrls"]) == 2


def test_generate_with_a_missing_image_fails_before_any_call(rh_env, tmp_path, capsys):
    code = main(["generate", "--image", str(tmp_path / "nope.png"), "--prompt", "x"])
    assert code == 2 and "nope.png" in capsys.readouterr().err
    assert rh_env.counters.requests_total == 0


def test_status_fetch_and_list_find_a_task(rh_env, tmp_path, capsys):
    a = tmp_path / "a.png"
    a.write_bytes(image_bytes((10, 200, 10)))
    main(["generate", "--image", str(a), "--prompt", "find me", "--duration", "2", "--resolution", "480p",
          "--output-dir", str(tmp_path / "o1")])
    task_id = next(iter(rh_env.tasks))
    capsys.readouterr()
    assert main(["status", task_id]) == 0
    status = capsys.readouterr().out
    assert f"task {task_id}: SUCCESS" in status and "cost: 0.14" in status
    assert main(["fetch", task_id, "--output-dir", str(tmp_path / "o2")]) == 0
    fetched = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert fetched.is_file()  # the journal's saved copy, or a fresh download
    assert main(["list"]) == 0
    assert task_id in capsys.readouterr().out
    assert rh_env.counters.submits == 1


def test_unknown_task_status_explains_1004(rh_env, capsys):
    assert main(["status", "1234567890123456789"]) == 2
    assert "1004" in capsys.readouterr().err


def test_login_reads_the_key_at_a_prompt_and_stores_it_privately(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RUNNINGHUB_API_KEY", raising=False)
    monkeypatch.delenv("RUNNINGHUB_API_KEY_AI", raising=False)
    key = "AbCdEfGhIjKlMnOpQrStUvWxYz01wxyz"
    monkeypatch.setattr("getpass.getpass", lambda prompt="": key)
    assert main(["login", "--site", "ai"]) == 0
    out = capsys.readouterr().out
    assert key not in out and "****wxyz" in out
    path = config.config_path()
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load_settings("ai").api_key == key
    with pytest.raises(Exception, match="No RunningHub API key for the .cn site"):
        config.load_settings("cn")
    assert main(["login", "--site", "ai", "--remove"]) == 0
    assert config.find_key("ai") == ""


def test_a_key_saved_by_login_is_found_inside_comfyui_too(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNNINGHUB_STATE_DIR", raising=False)
    monkeypatch.delenv("RUNNINGHUB_API_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "xdg"))
    monkeypatch.setattr(config.Path, "home", lambda: tmp_path / "home")
    key = "LoginKeyForComfy0123456789abcdEF"
    config.write_key("cn", key)  # what `login` does outside ComfyUI
    monkeypatch.setattr(config, "_comfy_user_dir", tmp_path / "comfy-user" / "runninghub-video")
    assert config.state_dir() == config.user_config_dir()  # one folder for ComfyUI and the CLI
    assert config.find_key("cn") == key
