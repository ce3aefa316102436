"""Trouble on this machine while a paid task runs — its output folder deleted, a disk filling up,
a download killed — ends with the task id and how to fetch it, never with a traceback or a claim
that nothing was charged; the next run delivers the paid video without paying again."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys

import pytest

from conftest import solid_images
from ..runninghub_video.core import errors
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.run import pipeline
from ..runninghub_video.words import wording

PRICE = 0.14  # v1-lite 480p x 2 s


def run(out, prompt: str, on_progress=None):
    return pipeline.generate(solid_images(1), VideoRequest(prompt=prompt, duration="2", resolution="480p"),
                             output_dir=out, on_progress=on_progress)


def once_the_task_runs(action):
    """A progress callback that does ``action()`` once, when the paid task is first reported waiting."""
    done = []

    def on_progress(event) -> None:
        if event.task_id and event.phase in ("queued", "running") and not done:
            done.append(True)
            action()
    return on_progress


def paid_once(emulator) -> bool:
    return emulator.counters.submits == 1


def test_an_output_folder_deleted_while_the_task_runs_ends_with_the_task_and_fetch(rh_env, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(errors.RunningHubError) as ended:
        run(out, "folder gone", once_the_task_runs(lambda: shutil.rmtree(out)))
    task_id = next(iter(rh_env.tasks))
    assert ended.value.task_id == task_id
    assert f"fetch {task_id}" in str(ended.value) and "folder" in str(ended.value)
    again = run(out, "folder gone")  # the folder is made again, the paid task downloaded
    assert again.task_id == task_id and again.video_path.is_file() and paid_once(rh_env)


KILLED_DOWNLOAD = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from conftest import solid_images
from runninghub_video.run.pipeline import generate
from runninghub_video.remote.request import VideoRequest
generate([solid_images(1)], VideoRequest(sys.argv[4], duration="2", resolution="480p"), output_dir=sys.argv[3])
"""


def test_a_download_killed_midway_leaves_no_part_file_after_the_next_run(rh_env, tmp_path):
    from conftest import wait_until

    from ..runninghub_video.remote import download

    root = download.Path(__file__).resolve().parents[1]
    rh_env.inject("download", "slow", bytes_per_s=256)  # ~25 s for the video: still downloading at the kill
    child = subprocess.Popen([sys.executable, "-c", KILLED_DOWNLOAD, str(root), str(root / "tests"),
                              str(tmp_path / "out"), "killed while downloading"], env=dict(os.environ))
    folder = tmp_path / "out" / download.SUBFOLDER
    wait_until(lambda: any(p.stat().st_size for p in folder.glob(".*.part")), what="the download to start")
    child.kill()
    child.wait(30)
    other_machines = folder / ".20260101-000000_2000000000000000001.mp4.othermachine-1.abc.part"
    other_machines.write_bytes(b"half")  # another machine's download, still young: left alone
    again = run(tmp_path / "out", "killed while downloading")
    assert again.video_path.is_file() and paid_once(rh_env)
    assert sorted(p.name for p in folder.glob(".*.part")) == [other_machines.name]
    os.utime(other_machines, (0, 0))  # a day later
    download.ensure_output_dir(tmp_path / "out")
    assert not list(folder.glob(".*.part"))


# --- full disks --------------------------------------------------------------------------------
class SmallDisk:
    """A filesystem of its own (a tmpfs of ``size_mb``) that a test fills up for real."""

    def __init__(self, path, size_mb: int) -> None:
        self.path = path
        path.mkdir(parents=True)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                                 capture_output=True, text=True) if sys.platform.startswith("linux") else None
        if mounted is None or mounted.returncode:
            pytest.skip("a small disk needs Linux and the right to mount a tmpfs")
        self.filler = path / "filler"

    def fill(self) -> None:
        """Write until the disk says it is full (ENOSPC)."""
        with open(self.filler, "ab", buffering=0) as f:
            for chunk in (1 << 20, 1 << 12, 1):
                try:
                    while True:
                        f.write(b"\\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    def free(self) -> None:
        self.filler.unlink()

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    disks = []

    def make(name: str, size_mb: int) -> SmallDisk:
        disks.append(SmallDisk(tmp_path / name, size_mb))
        return disks[-1]
    yield make
    for disk in disks:
        disk.unmount()


def test_a_full_output_disk_says_disk_full_with_the_task_to_fetch(rh_env, small_disk):
    disk = small_disk("output-disk", 210)  # room for the 200 MB the run checks before it pays
    with pytest.raises(errors.ConfigError) as ended:
        run(disk.path, "no room left", once_the_task_runs(disk.fill))
    task_id = next(iter(rh_env.tasks))
    text = str(ended.value)
    assert "is full" in text and f"fetch {task_id}" in text and "failed" not in text
    assert ended.value.task_id == task_id
    assert wording.error_line(ended.value, "zh").startswith(f"设置问题：保存视频的磁盘已满（{disk.path / 'runninghub'}），任务 {task_id} 的视频未保存")
    disk.free()
    again = run(disk.path, "no room left")
    assert again.task_id == task_id and again.video_path.is_file() and paid_once(rh_env)
    assert not list(again.video_path.parent.glob(".*.part"))


def test_a_full_state_disk_never_says_nothing_was_charged_after_the_submit(rh_env, small_disk, monkeypatch):
    disk = small_disk("state-disk", 2)
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(disk.path / "state"))
    with pytest.raises(errors.RunningHubError) as ended:
        run(disk.path.parent / "out", "state disk fills", once_the_task_runs(disk.fill))
    task_id = next(iter(rh_env.tasks))
    text = str(ended.value)
    assert "full" in text and f"fetch {task_id}" in text and "nothing was" not in text.lower()
    chinese = wording.error_line(ended.value, "zh")  # paid, so never 未扣费 (not charged)
    assert f"任务 {task_id} 已提交并已付费" in chinese and "取回" in chinese and "未扣费" not in chinese, chinese
    disk.free()
    again = run(disk.path.parent / "out", "state disk fills")
    assert again.task_id == task_id and paid_once(rh_env)
