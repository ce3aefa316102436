"""Saving results: https only, capped, never a partial file under the final name, never overwriting."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..runninghub_video.remote import download
from ..runninghub_video.core import errors
from ..runninghub_video.remote.download import download_result, ensure_output_dir
from ..runninghub_video.remote.http import make_session
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.remote.request import VideoRequest

from conftest import solid_images

PACK = Path(__file__).resolve().parent.parent


@pytest.fixture
def finished(rh_env, tmp_path):
    """A finished task's id and result URL."""
    result = generate([solid_images(1)], VideoRequest("dl", duration="2", resolution="480p"),
                      output_dir=tmp_path / "first")
    return result.task_id, f"{rh_env.base_url}/output/{result.task_id}.mp4"


@pytest.mark.parametrize("url", ["http://example.com/out.mp4", "ftp://127.0.0.1/out.mp4", "file:///etc/passwd"])
def test_only_https_or_this_machine_is_downloaded_from(url, tmp_path):
    with pytest.raises(errors.DownloadError, match="non-https"):
        download_result(make_session(), url, folder=ensure_output_dir(tmp_path), task_id="1")


def test_a_result_over_the_size_cap_leaves_no_file(finished, tmp_path):
    task_id, url = finished
    with pytest.raises(errors.DownloadError, match="byte cap"):
        download_result(make_session(), url, folder=ensure_output_dir(tmp_path), task_id=task_id, max_bytes=1000)
    assert list((tmp_path / "runninghub").iterdir()) == []


def test_two_downloads_of_one_task_never_overwrite(finished, tmp_path):
    task_id, url = finished
    first = download_result(make_session(), url, folder=ensure_output_dir(tmp_path), task_id=task_id)
    second = download_result(make_session(), url, folder=ensure_output_dir(tmp_path), task_id=task_id)
    assert first != second and first.is_file() and second.is_file()
    assert first.read_bytes() == second.read_bytes()


def test_something_that_is_not_an_mp4_is_refused(rh_env, finished, tmp_path):
    url = next(iter(rh_env.uploads))  # a PNG the emulator serves
    with pytest.raises(errors.DownloadError, match="not an MP4"):
        download_result(make_session(), url, folder=ensure_output_dir(tmp_path), task_id="7")
    assert list((tmp_path / "runninghub").iterdir()) == []


def test_a_failing_cleanup_never_hides_why_the_download_failed(finished, tmp_path, monkeypatch):
    """E.g. on Windows a virus scanner holds the partial file: the user still learns the real cause."""
    task_id, url = finished
    real_unlink = Path.unlink

    def unlink_refused_for_partial_files(self, *args, **kwargs):
        if self.name.endswith(".part"):
            raise PermissionError(13, "in use by another process", str(self))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink_refused_for_partial_files)
    with pytest.raises(errors.DownloadError, match="byte cap"):
        download_result(make_session(), url, folder=ensure_output_dir(tmp_path), task_id=task_id, max_bytes=1000)


def test_a_save_never_overwrites_a_video_another_process_saves_under_the_same_name(tmp_path, monkeypatch):
    """Two processes (two ComfyUIs, or ComfyUI and the CLI) save task 42 in the same second. The
    other one is made to save in the worst moment: after this one chose its name, just before its
    rename. Both videos must survive, under two names."""
    folder = ensure_output_dir(tmp_path)
    monkeypatch.setattr(download, "result_filename", lambda task_id, when=None: f"same-second_{task_id}.mp4")
    ours = folder / ".ours.part"
    ours.write_bytes(b"our video")
    theirs = folder / ".theirs.part"
    other_process = ("import pathlib, sys\nfrom runninghub_video.remote import download\n"
                     "download.result_filename = lambda task_id, when=None: f'same-second_{task_id}.mp4'\n"
                     "tmp = pathlib.Path(sys.argv[1]); tmp.write_bytes(b'their video')\n"
                     "download._place(tmp, tmp.parent, '42')\n")
    real_replace = os.replace

    def replace_after_the_other_process_saved(src, dst):
        if Path(src) == ours:
            subprocess.run([sys.executable, "-c", other_process, str(theirs)], check=True, cwd=PACK, timeout=60)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_after_the_other_process_saved)
    download._place(ours, folder, "42")
    saved = sorted(p.read_bytes() for p in folder.glob("*.mp4"))
    assert saved == [b"our video", b"their video"]


def test_a_file_written_atomically_is_complete_or_untouched_and_the_write_error_wins(tmp_path, monkeypatch):
    from ..runninghub_video.core.files import write_atomically

    target = tmp_path / "budget.json"
    target.write_bytes(b"old")
    monkeypatch.setattr(Path, "unlink", lambda self, *a, **k: (_ for _ in ()).throw(PermissionError(13, "held")))

    def half_then_fail(f):
        f.write(b"ne")
        raise ValueError("disk said no")

    with pytest.raises(ValueError, match="disk said no"):
        write_atomically(target, half_then_fail, private=True)
    assert target.read_bytes() == b"old"
    monkeypatch.undo()
    write_atomically(target, lambda f: f.write(b"new"), private=True)
    assert target.read_bytes() == b"new"
