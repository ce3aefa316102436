"""docs/fault-matrix.md is written from the tests themselves, never by hand: the fault tables of
test_fault_matrix.py (what each fault gives the user, the submits RunningHub received, the money
charged), then the files whose tests guard one payment, hostile input, the key and local trouble.

``python tests/fault_matrix_doc.py`` rewrites it; a test in test_fault_matrix.py fails while it is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent
DOC = TESTS.parent / "docs" / "fault-matrix.md"
SCENARIOS = {
    "test_one_payment.py": "One request, one payment (overlapping runs, dead processes, lost answers)",
    "test_hostile_inputs.py": "Hostile or broken set-ups",
    "test_key_never_leaks.py": "The API key",
    "test_local_trouble.py": "Trouble on this machine while a paid task runs",
    "test_journal_damage.py": "A damaged journal",
}


def render(matrix: ModuleType) -> str:
    """The whole docs file from the loaded ``test_fault_matrix`` module."""
    out = ["<!-- written by `python tests/fault_matrix_doc.py` from the tests; do not edit by hand -->",
           "# Fault matrix", "",
           "`tests/test_fault_matrix.py` injects each fault into the emulator, runs one request and checks "
           "what the user gets, the submits RunningHub received and the money charged. Every row is a test "
           "case; the suite fails if any row does not hold.", ""]
    out += _table("Seedance v1-lite (480p × 2 s, one reference image)", matrix.FAULTS, matrix)
    out += _table("Seedance 2.0 (480p × 4 s, a reference video and an audio clip, sound and the last frame)",
                  matrix.FAULTS_2, matrix)
    out += ["## More scenarios", "", "Each test in these files is named after what the user sees:", ""]
    out += [f"- `tests/{name}`: {title}" for name, title in SCENARIOS.items()] + [""]
    return "\n".join(out)


def _table(title: str, faults: list, matrix: ModuleType) -> list[str]:
    lines = [f"## {title}", "", "| fault | what the user gets | submits | charged (CNY) |", "|---|---|---|---|"]
    for fault in faults:
        lines.append(f"| {fault.name} | {_outcome(fault, matrix.VIDEO)} | {fault.submits} | {fault.charged:.2f} |")
    return lines + [""]


def _outcome(fault, video) -> str:
    if fault.outcome is video:
        return "the video"
    said = " · ".join(f"“{words.replace('{task}', '<task id>')}”" for words in fault.says)
    return f"`{fault.outcome.__name__}`" + (f" saying {said}" if said else "")


if __name__ == "__main__":
    sys.path.insert(0, str(TESTS))
    import conftest

    DOC.write_text(render(conftest.pack_module("tests.test_fault_matrix")), encoding="utf-8")
    print(f"wrote {DOC}")
