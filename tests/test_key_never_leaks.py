"""The API key is searched for in everything the pack writes or says: 0 hits."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.cli import main
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.core.redaction import mask_key
from ..runninghub_video.remote.request import VideoRequest

from conftest import solid_images


def _files_under(*folders: Path):
    for folder in folders:
        yield from (p for p in folder.rglob("*") if p.is_file())


def test_key_appears_in_no_file_log_error_or_output(rh_env, tmp_path, caplog, capsys):
    key = rh_env.api_key
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out"
    texts: list[str] = []

    result = generate([solid_images(2)], VideoRequest("leak check", duration="2", resolution="480p"), output_dir=out)
    rh_env.fail_next_tasks(code="1501")
    with pytest.raises(errors.TaskFailedError) as failed:
        generate([solid_images(1)], VideoRequest("leak check 2", duration="2", resolution="480p"), output_dir=out)
    texts.append(str(failed.value))
    rh_env.key_type = "PERSONAL"
    with pytest.raises(errors.KeyTypeError) as denied:
        generate([solid_images(1)], VideoRequest("leak check 3", duration="2", resolution="480p"), output_dir=out)
    texts += [str(denied.value), repr(denied.value)]
    rh_env.key_type = "SHARED"
    for argv in (["list"], ["status", result.task_id], ["fetch", result.task_id, "--output-dir", str(out)]):
        assert main(argv) == 0

    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    hits = [t for t in texts if key in t]
    state = Path(__import__("os").environ["RUNNINGHUB_STATE_DIR"])
    files = list(_files_under(out, state))
    assert any(f.suffix == ".mp4" for f in files) and any("journal" in f.name for f in files)
    hits += [str(f) for f in files if key.encode() in f.read_bytes()]
    assert hits == []


def test_settings_repr_masks_the_key(rh_env):
    from ..runninghub_video.remote.config import load_settings

    settings = load_settings()
    assert rh_env.api_key not in repr(settings) and mask_key(rh_env.api_key) in repr(settings)


@pytest.mark.parametrize("endpoint, status", [("submit", 200), ("submit", 500), ("upload", 200), ("upload", 401)])
def test_a_server_that_echoes_the_key_in_its_error_never_gets_it_shown(rh_env, tmp_path, caplog, endpoint, status):
    """The emulator's echo_key fault puts the raw key into an error body; every text we produce is redacted."""
    key = rh_env.api_key
    caplog.set_level(logging.DEBUG)
    rh_env.inject(endpoint, "echo_key", count=20, status=status)
    with pytest.raises(errors.RunningHubError) as info:
        generate([solid_images(1)], VideoRequest(f"echo {endpoint} {status}", duration="2", resolution="480p"),
                 output_dir=tmp_path, timeout_s=20)
    texts = [str(info.value), repr(info.value), info.value.server_message, caplog.text]
    if status in (200, 401):  # the server's message is shown to the user, with the key masked
        assert mask_key(key) in str(info.value)
    state = Path(__import__("os").environ["RUNNINGHUB_STATE_DIR"])
    leaks = [t for t in texts if key in t] + [str(f) for f in _files_under(state, tmp_path)
                                                if key.encode() in f.read_bytes()]
    assert leaks == []
    assert rh_env.counters.money_charged == 0


def test_a_key_given_in_settings_rather_than_the_environment_is_masked_too(emulator, tmp_path, monkeypatch):
    from ..runninghub_video.remote.config import Settings

    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
    emulator.inject("submit", "echo_key")
    with pytest.raises(errors.RunningHubError) as info:
        generate([solid_images(1)], VideoRequest("echo via settings", duration="2", resolution="480p"),
                 output_dir=tmp_path, settings=Settings(emulator.api_key, "cn", emulator.base_url))
    assert emulator.api_key not in str(info.value) and mask_key(emulator.api_key) in str(info.value)
