"""A batch file (JSON Lines or CSV with a header) read into checked items, before anything is paid.

Each line is one request with ``generate``'s options as keys (``prompt`` required; reference
paths relative to the file's folder; ``count`` asks for that many variations of the line). Every
line is checked as ``generate`` would check it — options against the model table, reference files
read and measured against the model's limits — so a bad line is reported with its number while
nothing has been uploaded, and the good lines can run.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.errors import RunningHubError, ValidationError
from ..ledger.journal import BatchTag
from ..remote import models
from ..remote.request import VideoRequest, infer_mode

MAX_COUNT = 100  # variations of one line; more is almost surely a typo in a paid batch
REFERENCE_KEYS = {"images": "image", "videos": "video", "audios": "audio"}  # list keys; CSV cells split on ";"
FRAME_KEYS = ("start_image", "end_image")  # one path each (the frames mode)
# What a line may set besides the request's own options (and what each CLI option is called).
RUN_KEYS = ("count", "variation", "site", "output_dir", "timeout_minutes")
_NOT_KEYS = frozenset({"last_frame", "references", "checked"})  # request fields a batch line does not set
_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})


def request_keys() -> tuple[str, ...]:
    """The request's options a line may set: every field of VideoRequest (a model's new option
    is a batch key the day the request has it)."""
    return tuple(f.name for f in dataclasses.fields(VideoRequest) if f.name not in _NOT_KEYS)


@dataclass(frozen=True)
class Item:
    """One paid video of the batch: a line of the file, one of its variations."""
    line: int
    variation: int
    request: VideoRequest  # validated
    images: tuple = field(repr=False)  # loaded arrays ([1,H,W,3]), shared between lines naming one file
    videos: tuple[Path, ...]
    audios: tuple[Path, ...]
    frames: dict = field(repr=False)  # start_image / end_image (loaded arrays), for the frames mode
    prepared: tuple = field(repr=False)  # the references as checked before the batch ran (prepared once)
    site: str | None
    output_dir: Path
    timeout_s: float

    @property
    def label(self) -> str:
        return f"line {self.line} · variation {self.variation}"


@dataclass(frozen=True)
class BadLine:
    line: int
    error: str


@dataclass(frozen=True)
class BatchPlan:
    """What a file asks for: the items in file order, the lines refused, and the batch's identity."""
    path: Path
    items: list[Item]
    bad: list[BadLine]

    @property
    def lines(self) -> int:
        return len({i.line for i in self.items} | {b.line for b in self.bad})

    def tag(self, item: Item) -> BatchTag:
        """The journal's batch tag of an item: the same file (wherever it is run from) is the same
        batch, so a re-run's rows group with the first run's and its spend counts against one budget."""
        digest = hashlib.sha256(str(self.path).encode("utf-8")).hexdigest()[:16]
        return BatchTag(f"file:{digest}", self.path.name, item.label)


def read_plan(path: str | Path, *, site: str | None = None, output_dir: str | Path = "runninghub_output",
              timeout_s: float = 1800.0) -> BatchPlan:
    """Read and check every line. ``site``, ``output_dir`` and ``timeout_s`` are the command's
    defaults; a line's own keys win. Raises ValidationError only when the file itself cannot be read."""
    from .pipeline import check_timeout

    path = Path(path).expanduser().resolve()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"The batch file {path} could not be read ({exc}).") from None
    rows = _csv_rows(text) if _is_csv(path, text) else _jsonl_rows(text)
    images: dict[Path, Any] = {}
    shared: dict[tuple[str, str], Any] = {}  # prepared references by kind and hash
    items: list[Item] = []
    bad: list[BadLine] = []
    for line, row in rows:
        try:
            if isinstance(row, str):
                raise ValidationError(row)
            items += _items(row, line, path.parent, images, shared, site=site, output_dir=output_dir,
                            timeout_s=check_timeout(timeout_s))
        except RunningHubError as exc:
            bad.append(BadLine(line, str(exc)))
    if not items and not bad:
        raise ValidationError(f"The batch file {path} has no lines: write one request per line "
                              "(JSON Lines, or CSV with a header row).")
    return BatchPlan(path, items, bad)


# --- one line ------------------------------------------------------------------------------
def _items(row: dict, line: int, folder: Path, images: dict, shared: dict, *, site, output_dir,
           timeout_s) -> list[Item]:
    """The items of one line, or a ValidationError saying what is wrong with it."""
    from .pipeline import check_timeout

    allowed = set(request_keys()) | set(REFERENCE_KEYS) | set(FRAME_KEYS) | set(RUN_KEYS)
    unknown = sorted(k for k in row if k not in allowed)
    if unknown:
        raise ValidationError(f"unknown key(s) {', '.join(map(repr, unknown))}; a line may have "
                              f"{', '.join(sorted(allowed))}.")
    options = {k: row[k] for k in request_keys() if row.get(k) is not None}
    for name in ("camera_fixed", "generate_audio", "real_person", "web_search"):
        if name in options:
            options[name] = _boolean(name, options[name])
    if "prompt" not in options:
        raise ValidationError("the prompt is missing (every line needs a 'prompt').")
    count = _whole(row.get("count", 1), "count", 1, MAX_COUNT)
    first = _whole(row.get("variation", 0), "variation", 0, 2**31 - 1 - count)
    refs = {key: [_existing(folder, p, REFERENCE_KEYS[key]) for p in _paths(row.get(key))] for key in REFERENCE_KEYS}
    frame_paths = {key: _existing(folder, _one_path(row[key], key), "image") for key in FRAME_KEYS if row.get(key)}
    for p in [*refs["images"], *frame_paths.values()]:
        if p not in images:
            from ..media.images import load_image_files

            images[p] = load_image_files([p])[0]
    loaded = tuple(images[p] for p in refs["images"])
    frames = {key: images[p] for key, p in frame_paths.items()}
    from ..media.references import count_all, prepare_all

    # validated once, with the counts of its references (known from the files named, before any decode);
    # a line that names no mode means the one its references imply, as `generate` does
    counts = count_all(loaded, refs["videos"], refs["audios"], **frames)
    if not options.get("mode"):
        options["mode"] = infer_mode(options.get("model") or models.DEFAULT_MODEL, counts)
    request = VideoRequest(**options).with_references(counts).validated()
    # every limit, before any upload; the run sends these, so a line's references are prepared once,
    # and a file named by several lines is held once (the batch keeps them until it ends)
    prepared = tuple(shared.setdefault((r.kind, r.sha256), r)
                     for r in prepare_all(request.spec, loaded, refs["videos"], refs["audios"], **frames))
    out = Path(row["output_dir"]) if row.get("output_dir") else Path(output_dir)
    timeout = check_timeout(float(row["timeout_minutes"]) * 60) if row.get("timeout_minutes") else timeout_s
    return [Item(line, first + n, request, loaded, tuple(refs["videos"]), tuple(refs["audios"]), frames, prepared,
                 row.get("site") or site, out if out.is_absolute() or not row.get("output_dir") else folder / out,
                 timeout) for n in range(count)]


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValidationError(f"{name} must be true or false, not {value!r}.")


def _whole(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}, not {value!r}.")
    return number


def _paths(value: Any) -> list[str]:
    """A reference key's value: a list (JSON), or one path, or paths separated by ';' (CSV)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(";") if p.strip()]
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return value
    raise ValidationError(f"reference paths must be a list of strings, not {value!r}.")


def _one_path(value: Any, key: str) -> str:
    if isinstance(value, str) and value.strip() and ";" not in value:
        return value.strip()
    raise ValidationError(f"{key} is one image path, not {value!r}.")


def _existing(folder: Path, raw: str, kind: str) -> Path:
    path = (folder / Path(raw).expanduser()).resolve()
    if not path.is_file():
        raise ValidationError(f"{kind} file not found: {raw} (paths are relative to the batch file's folder, "
                              f"{folder}).")
    return path


# --- the two formats -----------------------------------------------------------------------
def _is_csv(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return True
    if suffix in (".jsonl", ".ndjson", ".json"):
        return False
    return not text.lstrip().startswith("{")


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict | str]]:
    """(line number, object) per non-blank line; a line that is not a JSON object yields its error."""
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            yield number, f"not valid JSON ({exc.msg} at column {exc.colno})."
            continue
        yield number, value if isinstance(value, dict) else "not a JSON object ({...}); one request per line."


def _csv_rows(text: str) -> Iterator[tuple[int, dict | str]]:
    """(line number where the row starts, {column: cell}) per row after the header; empty cells unset."""
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    start = reader.line_num + 1
    for cells in reader:
        number, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield number, f"{len(cells)} cells but the header names {len(header)} columns."
            continue
        yield number, {h: c.strip() for h, c in zip(header, cells) if h and c.strip()}
