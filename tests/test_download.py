"""Saving results: https only, capped, never a partial file under the final name, never overwriting."""
from __future__ import annotations

import pytest

from runninghub_video import errors
from runninghub_video.download import download_result, ensure_output_dir
from runninghub_video.http import make_session
from runninghub_video.pipeline import generate
from runninghub_video.request import VideoRequest

from conftest import solid_images


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
