"""The README a user reads: its test command is the one CI runs, its links lead somewhere, and it
stays a README (the fault matrix, performance and developer notes live in docs/)."""
from __future__ import annotations

import re
from pathlib import Path

from ..runninghub_video.remote import error_codes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command_after(comment: str) -> str:
    lines = README.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith(comment)) + 1]


def test_ci_runs_the_readme_test_command_verbatim():
    command = _command_after("# 2. The tests")
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_every_relative_link_of_the_readme_leads_to_a_file():
    links = re.findall(r"\]\((?!https?://)([^)#]+)\)", README)
    assert links and [link for link in links if not (ROOT / link).is_file()] == []


def test_the_readme_with_its_chinese_half_stays_under_24_kb():
    assert "## 中文说明" in README
    assert len(README.encode("utf-8")) <= 24 * 1024, "move reference material to docs/ and link it"


def test_every_path_the_developer_notes_name_exists():
    notes = (ROOT / "docs" / "developers.md").read_text(encoding="utf-8")
    paths = re.findall(r"`((?:runninghub_video|nodes|js|tests)/[\w./]*)`", notes)
    assert paths and [p for p in paths if not (ROOT / p).exists()] == []


def test_the_readme_names_the_answers_that_prove_no_task_as_the_code_does():
    listed = re.search(r"`error_codes.NO_TASK_CODES`\s*\(([\d, \n]+);\s*after ([\d and]+) the submit", README)
    assert listed, "the README lists the codes of NO_TASK_CODES in parentheses after its name"
    assert set(re.findall(r"\d+", listed.group(1))) == error_codes.NO_TASK_CODES
    assert set(re.findall(r"\d+", listed.group(2))) == error_codes.RESUBMIT_CODES
