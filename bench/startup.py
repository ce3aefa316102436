"""Row 6: importing the pack the way ComfyUI does, in a fresh interpreter.

ComfyUI imports each custom-node folder as a package from its ``__init__.py``; here
``tests/comfy_standin`` stands in for ComfyUI's own ``comfy_api`` (already loaded by ComfyUI, so it is
imported first and not counted). Baselines: importing the stand-in alone, and a bare
``python -c pass`` (whole-process wall time). Median of REPEATS fresh processes.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from . import ROOT, Row

REPEATS = 9
HEAVY = ("torch", "av", "numpy", "PIL", "requests", "urllib3", "sqlite3")

_CHILD = r"""
import importlib.util, json, sys, time
root, standin, mode = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, standin)
t0 = time.perf_counter()
import comfy_api.latest  # ComfyUI has this loaded before it imports custom nodes
t1 = time.perf_counter()
before = set(sys.modules)
if mode == "pack":
    spec = importlib.util.spec_from_file_location("runninghub_video_pack", root + "/__init__.py",
                                                  submodule_search_locations=[root])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    assert module.NODE_CLASS_MAPPINGS
t2 = time.perf_counter()
heavy = sorted(m for m in json.loads(sys.argv[4]) if m in sys.modules and m not in before)
print(json.dumps({"standin_s": t1 - t0, "pack_s": t2 - t1, "heavy": heavy,
                  "heavy_before": sorted(m for m in json.loads(sys.argv[4]) if m in before)}))
"""


def _child(mode: str) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), str(ROOT / "tests" / "comfy_standin"), mode,
                          json.dumps(HEAVY)], cwd="/", capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), time.perf_counter() - t0


def _bare() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


def run() -> list[Row]:
    bare, standin_wall, pack_wall, standin_s, pack_s, heavy = [], [], [], [], [], set()
    for _ in range(REPEATS):  # interleaved, so a noisy moment hits every variant alike
        bare.append(_bare())
        info, wall = _child("standin")
        standin_wall.append(wall)
        standin_s.append(info["standin_s"])
        info, wall = _child("pack")
        pack_wall.append(wall)
        pack_s.append(info["pack_s"])
        heavy.update(info["heavy"])
    med = statistics.median
    ours_ms, stand_ms = med(pack_s) * 1e3, med(standin_s) * 1e3
    heavy_text = ", ".join(sorted(heavy)) or "none"
    return [
        Row("6a start-up: import the pack (after comfy_api)", f"{ours_ms:.1f} ms, heavy: {heavy_text}",
            f"{stand_ms:.1f} ms (comfy_api stand-in alone)", ours_ms / stand_ms, "≤ 100 ms, no heavy imports",
            ours_ms <= 100 and not heavy,
            f"median of {REPEATS} fresh processes; heavy = any of {', '.join(HEAVY)} newly in sys.modules."),
        Row("6b start-up: whole process, python + comfy_api + pack", f"{med(pack_wall) * 1e3:.0f} ms",
            f"{med(bare) * 1e3:.0f} ms (python -c pass)", med(pack_wall) / med(bare), "report", None,
            f"python + stand-in alone: {med(standin_wall) * 1e3:.0f} ms."),
    ]


if __name__ == "__main__":
    from .__main__ import main

    sys.exit(main(["startup"]))
