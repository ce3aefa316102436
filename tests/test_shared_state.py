"""One journal per user: ComfyUI and the command line on one machine share the state folder
(runninghub_video/remote/config.py), so one request pays once across them; a journal an earlier
version left in ComfyUI's user folder keeps protecting its requests (ledger/earlier_journal.py)."""
from __future__ import annotations

import sqlite3

import pytest

from conftest import solid_images
from ..runninghub_video.core import errors
from ..runninghub_video.ledger.journal import JOURNAL_FILE, Journal
from ..runninghub_video.remote import config
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run import pipeline, spend

KEY_OF_COMFYUI = "ComfyUiSavedKey0123456789abcdEFG"


def run(tmp_path, prompt: str):
    return pipeline.generate(solid_images(1), VideoRequest(prompt=prompt, duration="2", resolution="480p"),
                             output_dir=tmp_path / "out")


@pytest.fixture
def user(rh_env, tmp_path, monkeypatch):
    """This user's folders, no RUNNINGHUB_STATE_DIR; ``inside_comfyui(True)`` is what the pack does
    when ComfyUI loads it (ComfyUI's user folder is ``tmp_path/comfy/user``)."""
    monkeypatch.delenv("RUNNINGHUB_STATE_DIR")
    for name in ("XDG_CONFIG_HOME", "APPDATA"):
        monkeypatch.setenv(name, str(tmp_path / "home" / "config"))
    monkeypatch.setattr(config.Path, "home", lambda: tmp_path / "home")
    monkeypatch.setattr(config, "_comfy_user_dir", None)

    class User:
        comfy_folder = tmp_path / "comfy" / "user" / config.APP_DIR_NAME

        @staticmethod
        def inside_comfyui(inside: bool) -> None:
            monkeypatch.setattr(config, "_comfy_user_dir", User.comfy_folder if inside else None)

        @staticmethod
        def earlier_version(run_it) -> None:
            """Run as versions before the shared folder did inside ComfyUI: state in its user folder."""
            with monkeypatch.context() as before:
                before.setenv("RUNNINGHUB_STATE_DIR", str(User.comfy_folder))
                run_it()
    return User


def test_comfyui_and_the_command_line_share_one_journal(user, rh_env, tmp_path):
    user.inside_comfyui(True)
    first = run(tmp_path, "made in ComfyUI")
    user.inside_comfyui(False)  # the command line, same user, same machine
    again = run(tmp_path, "made in ComfyUI")
    assert again.reused and again.task_id == first.task_id and rh_env.counters.submits == 1
    assert Journal().path == config.user_config_dir() / JOURNAL_FILE
    assert not (user.comfy_folder / JOURNAL_FILE).exists()


def test_state_dir_still_moves_the_journal(user, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "elsewhere"))
    user.inside_comfyui(True)
    assert Journal().path == tmp_path / "elsewhere" / JOURNAL_FILE


def test_a_journal_left_in_comfyuis_user_folder_keeps_protecting_its_requests(user, rh_env, tmp_path):
    def earlier_runs():
        run(tmp_path, "saved before the move")
        rh_env.inject("submit", "timeout_after_create", seconds=0.1, status=504)
        with pytest.raises(errors.AmbiguousSubmitError):
            run(tmp_path, "answer lost before the move")
        spend.set_daily_budget("cn", 9)
    user.earlier_version(earlier_runs)
    earlier = user.comfy_folder / JOURNAL_FILE
    assert earlier.exists() and rh_env.counters.submits == 2
    run(tmp_path, "made by the command line meanwhile")  # the user's own journal (and its record) exist too
    user.inside_comfyui(True)
    assert run(tmp_path, "saved before the move").reused
    with pytest.raises(errors.AmbiguousSubmitError):  # never sent again
        run(tmp_path, "answer lost before the move")
    assert rh_env.counters.submits == 3
    assert spend.daily_budgets()["cn"].amount == 9  # the budget set then still holds
    assert not earlier.exists() and list(earlier.parent.glob(JOURNAL_FILE + ".moved-*"))
    user.inside_comfyui(False)  # and the command line sees the same
    with pytest.raises(errors.AmbiguousSubmitError):
        run(tmp_path, "answer lost before the move")
    assert len(Journal().list()) == 3 and rh_env.counters.submits == 3
    Journal().path.write_bytes(b"")  # the journal's record protects the copied rows as its own
    with pytest.raises(errors.AmbiguousSubmitError):
        run(tmp_path, "answer lost before the move")
    assert rh_env.counters.submits == 3


def test_claims_of_the_earlier_folder_are_copied_as_unsafe_to_resend(user, tmp_path):
    earlier = user.comfy_folder / JOURNAL_FILE
    user.earlier_version(lambda: Journal().record("2000000000000000009", site="cn", endpoint="cn|x",
                                                  state="RUNNING", fingerprint="fp"))
    with sqlite3.connect(earlier) as conn:  # a claim cut off mid-submit, one cut off mid-upload
        for state in ("submitting", "uploading"):
            conn.execute("INSERT INTO tasks (fingerprint, endpoint, site, state, created_at, updated_at, owner_token)"
                         " VALUES (?, 'cn|x', 'cn', ?, 1, 1, 'live')", (f"fp-{state}", state))
    user.inside_comfyui(True)
    states = {row.fingerprint: row.state for row in Journal().list()}
    assert states == {"fp": "RUNNING", "fp-submitting": "ambiguous", "fp-uploading": "abandoned"}


def test_adopting_twice_copies_nothing_twice(user, tmp_path):
    user.earlier_version(lambda: Journal().record("2000000000000000009", site="cn", endpoint="cn|x",
                                                  state="RUNNING", fingerprint="fp"))
    earlier = user.comfy_folder / JOURNAL_FILE
    copy = earlier.read_bytes()
    user.inside_comfyui(True)
    assert len(Journal().list()) == 1
    earlier.write_bytes(copy)  # the rename was cut off, or another process copied it meanwhile
    from ..runninghub_video.ledger import journal_file

    journal_file._adopted.clear()  # a new process
    assert len(Journal().list()) == 1


def test_a_key_saved_in_comfyuis_user_folder_is_still_found(user, monkeypatch):
    monkeypatch.delenv("RUNNINGHUB_API_KEY")
    user.earlier_version(lambda: config.write_key("cn", KEY_OF_COMFYUI))
    user.inside_comfyui(True)
    assert config.find_key("cn") == KEY_OF_COMFYUI
