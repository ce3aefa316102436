"""Check the zip `comfy node pack` made: exactly what users need, nothing of development.

    python .ci/check_registry_pack.py <checkout> <node.zip>

The zip must hold every git-tracked file of <checkout> except tests/, bench/, .ci/ and .github/,
and so the frontend (js/), its translations (locales/) and the example workflows; never build
output (build/, dist/, *.egg-info, bytecode) even if it was committed by mistake.
"""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile

DEVELOPMENT_ONLY = ("tests/", "bench/", ".ci/", ".github/")
BUILD_OUTPUT = re.compile(r"(^|/)(build|dist|__pycache__|[^/]+\.egg-info)/|\.pyc$")
MUST_SHIP = ("__init__.py", "pyproject.toml", "requirements.txt", "README.md", "js/runninghub.js",
             "js/format.js", "locales/en/main.json", "locales/zh/main.json", "nodes/", "runninghub_video/",
             "example_workflows/")


def main(checkout: str, zip_path: str) -> int:
    tracked = set(subprocess.run(["git", "-C", checkout, "ls-files"], check=True, capture_output=True,
                                 text=True).stdout.split("\n")) - {""}
    packed = set(zipfile.ZipFile(zip_path).namelist())
    problems = [f"development file shipped: {n}" for n in sorted(packed) if n.startswith(DEVELOPMENT_ONLY)]
    problems += [f"build output shipped: {n}" for n in sorted(packed) if BUILD_OUTPUT.search(n)]
    problems += [f"not a tracked file: {n}" for n in sorted(packed - tracked)]
    wanted = {n for n in tracked if not n.startswith(DEVELOPMENT_ONLY)}
    problems += [f"missing: {n}" for n in sorted(wanted - packed)]
    problems += [f"nothing under {p}" if p.endswith("/") else f"missing: {p}"
                 for p in MUST_SHIP if not any(n == p or (p.endswith("/") and n.startswith(p)) for n in packed)]
    for line in problems:
        print(f"registry pack: {line}")
    by_folder: dict[str, int] = {}
    for name in packed:
        folder = name.split("/", 1)[0] if "/" in name else "."
        by_folder[folder] = by_folder.get(folder, 0) + 1
    print(f"registry pack: {len(packed)} files ({', '.join(f'{k} {v}' for k, v in sorted(by_folder.items()))})"
          f" - {'FAILED' if problems else 'ok'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
