"""Bad input is refused before any network call — nothing uploaded, nothing charged — with a
message that says what to change."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from ..runninghub_video.core import errors
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.remote.request import VideoRequest

from conftest import solid_images

OK = VideoRequest("a prompt", duration="2", resolution="480p")


def _refused(rh_env, tmp_path, images, request=OK, error=errors.ValidationError, match=""):
    with pytest.raises(error, match=match):
        generate(images, request, output_dir=tmp_path)
    assert rh_env.counters.requests_total == 0


@pytest.mark.parametrize("request_, match", [
    (VideoRequest("   "), "prompt is empty"),
    (VideoRequest("x" * 5001), "5001 characters.*at most 5000"),
    (VideoRequest("p", duration="13"), "Duration '13'.*2 to 12"),
    (VideoRequest("p", duration="1"), "Duration"),
    (VideoRequest("p", resolution="1080p"), "Resolution '1080p'.*720p, 480p"),
    (VideoRequest("p", aspect_ratio="2:1"), "Aspect ratio '2:1'"),
], ids=["empty prompt", "prompt too long", "duration 13", "duration 1", "resolution", "aspect ratio"])
def test_bad_options_are_refused_before_any_call(rh_env, tmp_path, request_, match):
    _refused(rh_env, tmp_path, [solid_images(1)], request_, match=match)


def test_no_reference_is_refused(rh_env, tmp_path):
    _refused(rh_env, tmp_path, [], match="0 reference images.*between 1 and 4")


def test_a_batch_of_five_references_is_refused(rh_env, tmp_path):
    _refused(rh_env, tmp_path, [solid_images(4), solid_images(1)], match="5 reference images")


def test_a_one_pixel_image_is_refused_with_advice(rh_env, tmp_path):
    _refused(rh_env, tmp_path, [np.zeros((1, 1, 1, 3), np.float32)], match="1x1 pixels.*at least 14")


def test_wrong_shaped_input_names_it(rh_env, tmp_path):
    _refused(rh_env, tmp_path, [np.zeros((8, 8), np.float32)], match="(?i)image 1")


def test_missing_key_is_refused_and_says_where_to_get_one(rh_env, tmp_path, monkeypatch):
    monkeypatch.delenv("RUNNINGHUB_API_KEY")
    _refused(rh_env, tmp_path, [solid_images(1)], error=errors.ConfigError, match="Enterprise-Shared")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder_is_refused(rh_env, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    _refused(rh_env, tmp_path / "locked" / "out", [solid_images(1)], error=errors.ConfigError, match="not writable")


def test_output_path_that_is_a_file_is_refused(rh_env, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(errors.ConfigError, match="not writable"):
        generate([solid_images(1)], OK, output_dir=blocker)
    assert rh_env.counters.requests_total == 0


def test_a_full_disk_is_refused_before_paying(rh_env, tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    _refused(rh_env, tmp_path, [solid_images(1)], error=errors.ConfigError, match="only 1 MB free")


def test_rgba_greyscale_and_nan_references_are_accepted(rh_env, tmp_path):
    rgba = np.ones((1, 32, 32, 4), np.float32)
    grey = np.full((1, 32, 32, 1), 0.5, np.float32)
    nan = solid_images(1)
    nan[0, 0, 0] = np.nan
    result = generate([rgba, grey, nan], OK, output_dir=tmp_path)
    assert result.video_path.is_file() and rh_env.counters.uploads == 3


def test_auth_failure_suggests_the_other_site(rh_env, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNINGHUB_API_KEY", "x" * 32)
    with pytest.raises(errors.AuthError, match="site to 'ai'"):
        generate([solid_images(1)], OK, output_dir=tmp_path)
