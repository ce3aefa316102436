"""``python -m bench [name ...]``: run the benchmarks, print one table, write bench/results.md and the table of
docs/performance.md."""
from __future__ import annotations

import importlib
import platform
import sys
import time
from pathlib import Path

from . import NAMES, ROOT, Row, markdown_table, text_table

RESULTS = Path(__file__).with_name("results.md")


def main(argv: list[str]) -> int:
    names = argv or list(NAMES)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    rows: list[Row] = []
    load_before = _load()
    started = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        print(f"[bench] {name} …", flush=True)
        result = importlib.import_module(f"bench.{name}").run()
        new = result if isinstance(result, list) else [result]
        rows += new
        for row in new:
            print(f"[bench]   {row.name}: {row.ours} vs {row.baseline}"
                  f" ({'—' if row.ratio is None else f'{row.ratio:.2f}×'}), target {row.target}", flush=True)
        print(f"[bench]   ({time.monotonic() - t0:.1f} s)", flush=True)
    total = time.monotonic() - started
    print()
    print(text_table(rows))
    print(f"\n{len(rows)} rows in {total:.0f} s")
    notes = [f"- **{row.name}**: {row.note}" for row in rows if row.note]
    if names == list(NAMES):
        report = (markdown_table(rows) + "\n\n"
                  + (("Notes:\n\n" + "\n".join(notes) + "\n\n") if notes else "")
                  + f"Measured on {platform.machine()} Linux {platform.release()}, Python {platform.python_version()}, "
                    f"{_cpus()} cores, in {total:.0f} s total; load average {load_before} before, {_load()} after "
                    "(other work shares the machine: timings move with it).\n")
        RESULTS.write_text("<!-- written by `python -m bench`; do not edit by hand -->\n" + report, encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
        if _replace_between(PERFORMANCE, START, END, report):
            print(f"updated the table in {PERFORMANCE.relative_to(ROOT)}")
    return 0


PERFORMANCE = ROOT / "docs" / "performance.md"  # the README links it and quotes no figure of its own
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _replace_between(path: Path, start: str, end: str, text: str) -> bool:
    """Put ``text`` between the two marker lines of ``path``; False when the markers are missing."""
    content = path.read_text(encoding="utf-8")
    head, found, rest = content.partition(start + "\n")
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        return False
    path.write_text(head + start + "\n" + text + end + tail, encoding="utf-8")
    return True


def _load() -> str:
    import os

    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
