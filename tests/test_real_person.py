"""Real people in references: off → RunningHub's 1505 explained with the way out; on → each image and
video reference converted once into an asset, reused by later runs, sent as ``asset://<id>``."""
from __future__ import annotations

import threading
import time

import pytest

from ..runninghub_video import cli
from ..runninghub_video.core import errors
from ..runninghub_video.core.events import ProgressEvent
from ..runninghub_video.ledger.asset_cache import AssetCache
from ..runninghub_video.remote import facts
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.run.real_person import ConversionFailedError
from ..runninghub_video.words import wording
from ..nodes import inbox_routes

from conftest import image_bytes, solid_images

V2 = dict(model="seedance-2.0", duration="4", resolution="480p")


@pytest.fixture
def people(rh_env):
    """The emulator with every image and video reference showing a real person, quick conversions."""
    rh_env.real_people = True
    rh_env.asset_s = 0.3
    return rh_env


def request(prompt: str = "two people talk", on: bool = True, **options) -> VideoRequest:
    return VideoRequest(prompt, real_person=on, **{**V2, **options})


def submitted_references(emu) -> list[str]:
    task = list(emu.tasks.values())[-1]
    return task.body["imageUrls"] + task.body.get("videoUrls", [])


def test_off_a_real_person_fails_with_the_option_named_and_no_charge(people, tmp_path):
    with pytest.raises(errors.RealPersonError) as info:
        generate([solid_images(2)], request(on=False), output_dir=tmp_path)
    text = str(info.value)
    assert "1505" in text and "--real-person" in text and "real_person (on the node)" in text
    assert "RunningHub named image 1, image 2" in text
    assert f"reported no charge for task {info.value.task_id}" in text
    assert info.value.references == ("image 1", "image 2")
    assert text.count("Photorealistic real person detected") == 1  # RunningHub's words once, not per field
    for paying_again in ("variation", "Queue again", "queue again"):  # nothing pays for the same refusal again
        assert paying_again not in text
    line = wording.error_line(info.value)
    assert "real_person" in line and "image 1, image 2" in line and "no charge reported" in line
    assert people.counters.submits_accepted == 1 and people.counters.money_charged == 0
    assert people.counters.assets_created == 0


def test_on_references_are_converted_and_the_video_is_delivered(people, tmp_path):
    seen: list[str] = []
    result = generate([solid_images(2)], request(),
                      output_dir=tmp_path, on_progress=lambda e: seen.append(wording.describe(e)))
    assert result.video_path.is_file()
    assert people.counters.assets_created == 2 and people.counters.submits_accepted == 1
    assert all(ref.startswith("asset://") for ref in submitted_references(people))
    assert "converting reference 2 of 2 for real people…" in seen
    assert people.counters.money_charged == pytest.approx(0.6 * 4)
    entries = AssetCache().entries()
    assert {e.state for e in entries} == {facts.ASSET_ACTIVE} and all(e.has_thumb for e in entries)


def test_a_second_run_with_the_same_files_creates_no_new_asset(people, tmp_path):
    generate([solid_images(2)], request("first"), output_dir=tmp_path)
    first = submitted_references(people)
    phases: list[str] = []
    generate([solid_images(2)], request("second, with a new prompt"), output_dir=tmp_path,
             on_progress=lambda e: phases.append(e.phase))
    assert people.counters.assets_created == 2 and people.counters.submits_accepted == 2
    assert submitted_references(people) == first
    assert "convert" not in phases  # nothing is said to be converting when nothing is


def test_two_runs_at_once_with_the_same_file_convert_it_once(people, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    people.inject("asset_create", "delay", count=2, seconds=0.5)  # both runs reach the create together
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(generate, [solid_images(1)], request(f"run {i}"), output_dir=tmp_path) for i in (1, 2)]
        assert all(run.result().video_path.is_file() for run in runs)
    assert people.counters.assets_created == 1 and people.counters.submits_accepted == 2


def test_an_asset_gone_from_the_site_is_converted_again_and_one_video_paid(people, tmp_path):
    generate([solid_images(1)], request("first"), output_dir=tmp_path)
    people.assets.clear()  # how long assets live is unknown [U]
    result = generate([solid_images(1)], request("second"), output_dir=tmp_path)
    assert result.video_path.is_file()
    assert people.counters.assets_created == 2 and people.counters.submits_accepted == 2
    assert people.counters.money_charged == pytest.approx(2 * 0.6 * 4)


def test_an_upload_the_site_can_no_longer_read_is_uploaded_afresh_for_the_conversion(people, tmp_path):
    people.real_people = False
    generate([solid_images(1)], request("first, no people", on=False), output_dir=tmp_path)
    people.expire_uploads()  # the cached upload URL lapses
    people.real_people = True
    result = generate([solid_images(1)], request("now with people"), output_dir=tmp_path)
    assert result.video_path.is_file()
    assert people.counters.uploads == 2 and people.counters.assets_created == 1


def test_a_damaged_asset_cache_is_moved_aside_and_costs_one_conversion_not_a_video(people, tmp_path):
    generate([solid_images(1)], request("first"), output_dir=tmp_path)
    AssetCache().path.write_bytes(b"not a database " * 100)
    result = generate([solid_images(1)], request("second"), output_dir=tmp_path)
    assert result.video_path.is_file()
    assert people.counters.assets_created == 2 and people.counters.submits_accepted == 2
    assert list(AssetCache().path.parent.glob("assets.sqlite3.damaged-*"))


def test_a_failed_conversion_names_the_reference_and_reason_before_any_submit(people, tmp_path):
    people.fail_next_conversions("no face could be verified")
    with pytest.raises(ConversionFailedError) as info:
        generate([solid_images(2)], request(), output_dir=tmp_path)
    assert "image 1" in str(info.value) and "no face could be verified" in str(info.value)
    assert people.counters.submits == 0 and people.counters.money_charged == 0
    assert AssetCache().entries() == []  # queuing again tries the conversion once more


def test_cancel_during_a_conversion_stops_within_a_second_and_the_next_run_resumes_it(people, tmp_path):
    people.asset_s = 600.0  # still converting when Cancel is seen, however slow the machine
    cancel = threading.Event()
    seen_at: list[float] = []

    def on_progress(event: ProgressEvent) -> None:
        if event.phase == "convert" and not cancel.is_set():
            seen_at.append(time.monotonic())
            threading.Timer(0.3, cancel.set).start()

    with pytest.raises(errors.Interrupted):
        generate([solid_images(1)], request(), output_dir=tmp_path, on_progress=on_progress,
                 should_cancel=cancel.is_set)
    assert seen_at and time.monotonic() - seen_at[0] < 0.3 + 1.0
    assert people.counters.submits == 0
    (asset_id,) = people.assets
    assert AssetCache().entries()[0].asset_id == asset_id  # kept before the wait: a restart picks it up
    people.assets[asset_id].processing_s = 0.0
    generate([solid_images(1)], request(), output_dir=tmp_path)
    assert people.counters.assets_created == 1 and submitted_references(people) == [f"asset://{asset_id}"]


def test_a_create_whose_answer_was_lost_is_found_by_name_not_made_twice(people, tmp_path):
    people.inject("asset_create", "timeout_after_create", seconds=0.1, reset=True)
    with pytest.raises(errors.TransportError):
        generate([solid_images(1)], request(), output_dir=tmp_path)
    assert people.counters.assets_created == 1 and people.counters.submits == 0
    generate([solid_images(1)], request(), output_dir=tmp_path)
    assert people.counters.assets_created == 1 and people.counters.submits_accepted == 1


def test_frames_mode_converts_the_start_and_end_images_and_names_them_when_refused(people, tmp_path):
    frames = dict(mode="frames", prompt="she turns around", duration="4", resolution="480p")
    images = dict(start_image=solid_images(1), end_image=solid_images(2)[1:])
    with pytest.raises(errors.RealPersonError) as info:
        generate([], VideoRequest(model="seedance-2.0", **frames), output_dir=tmp_path, **images)
    assert info.value.references == ("start image", "end image")
    result = generate([], VideoRequest(model="seedance-2.0", real_person=True, **frames), output_dir=tmp_path,
                      **images)
    assert result.video_path.is_file() and people.counters.assets_created == 2
    body = list(people.tasks.values())[-1].body
    assert body["firstFrameUrl"].startswith("asset://") and body["lastFrameUrl"].startswith("asset://")


def test_v1_lite_refuses_the_option_before_any_upload(people, tmp_path):
    with pytest.raises(errors.ValidationError) as info:
        generate([solid_images(1)], VideoRequest("a face", real_person=True), output_dir=tmp_path)
    assert "Seedance v1-lite" in str(info.value) and "Seedance 2.0" in str(info.value)
    assert people.counters.uploads == 0 and people.counters.requests_total == 0


def test_v1_lite_1505_names_no_option_it_cannot_take(people, tmp_path):
    with pytest.raises(errors.TaskFailedError) as info:
        generate([solid_images(1)], VideoRequest("a face", duration="2", resolution="480p"), output_dir=tmp_path)
    assert not isinstance(info.value, errors.RealPersonError)
    assert "no way to take real people" in str(info.value) and "Seedance 2.0" in str(info.value)


def test_cli_without_the_option_fails_naming_it_and_with_it_delivers(people, tmp_path, capsys):
    image = tmp_path / "face.png"
    image.write_bytes(image_bytes())
    args = ["generate", "--model", "seedance-2.0", "--duration", "4", "--resolution", "480p",
            "--image", str(image), "--prompt", "a person waves", "--output-dir", str(tmp_path / "out")]
    assert cli.main(args) == 2
    assert "--real-person" in capsys.readouterr().err
    assert cli.main([*args, "--real-person"]) == 0
    assert capsys.readouterr().out.strip().endswith(".mp4")
    assert people.counters.assets_created == 1 and people.counters.submits_accepted == 2
    assert cli.main(["generate", "--image", str(image), "--prompt", "x", "--real-person"]) == 2
    assert "not available for Seedance v1-lite" in capsys.readouterr().err


def test_the_tab_lists_converted_references_and_delete_removes_one_on_the_site_and_here(people, tmp_path):
    generate([solid_images(1)], request(), output_dir=tmp_path)
    (listed,) = inbox_routes.converted_references()["assets"]
    assert listed["site"] == "cn" and listed["state"] == facts.ASSET_ACTIVE and listed["kind"] == "image"
    assert listed["asset_id"] in people.assets and listed["created_at"] > 0
    assert inbox_routes.converted_thumbnail("cn", listed["asset_id"]).startswith(b"\xff\xd8")  # a JPEG
    assert inbox_routes.delete_converted("cn", listed["asset_id"])["deleted"]
    assert people.assets == {} and people.counters.assets_deleted == 1
    assert inbox_routes.converted_references()["assets"] == []
    generate([solid_images(1)], request("again, after the delete"), output_dir=tmp_path)
    assert people.counters.assets_created == 2  # converted anew, never a dangling asset id
