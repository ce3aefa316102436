"""``python -m runninghub_video``: demo, generate, batch, status, fetch, list, budget, login, emulator."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

from .remote import facts, models
from .core.errors import RunningHubError
from .core.money import Money, format_money, format_price, parse as parse_money
from .terminal import TerminalProgress

DEFAULT_OUTPUT = "runninghub_output"


def _request_from(args: argparse.Namespace):
    """The run's request, validated once with the references its flags name (no file is read)."""
    from .remote.request import VideoRequest, infer_mode

    counts = {models.IMAGE: len(args.image), models.VIDEO: len(args.video), models.AUDIO: len(args.audio),
              models.FIRST_FRAME: int(args.start_image is not None), models.LAST_FRAME: int(args.end_image is not None)}
    model = models.get(args.model)
    return VideoRequest(prompt=args.prompt, model=model.id, mode=args.mode or infer_mode(model, counts),
                        duration=args.duration, resolution=args.resolution, aspect_ratio=args.aspect_ratio,
                        camera_fixed=args.camera_fixed or None, generate_audio=args.generate_audio, seed=args.seed,
                        last_frame=args.last_frame, web_search=args.web_search or None, task_type=args.task_type,
                        bitrate=args.bitrate, real_person=args.real_person).with_references(counts).validated()


def _per_model(name: str) -> str:
    """Each model's values of an option (and its default), from the model table."""
    parts = []
    for model in models.MODELS.values():
        option = model.option(name)
        if option is None:
            continue
        if name == "duration":
            seconds = model.durations()
            values = f"{seconds[0]}-{seconds[-1]}" + (", auto" if models.AUTO in option.choices else "")
        else:
            values = ", ".join(map(str, option.choices)) if option.choices else "yes/no"
        parts.append(f"{model.id}: {values} (default {option.default})")
    return "; ".join(parts)


def _having(name: str) -> str:
    """The models that have an option, for a flag's help."""
    return ", ".join(m.id for m in models.MODELS.values() if m.option(name) is not None)


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=models.DEFAULT_MODEL, choices=tuple(models.MODELS),
                   help=f"default {models.DEFAULT_MODEL}; modes: " + "; ".join(
                       f"{m.id}: {'/'.join(m.modes)}" for m in models.MODELS.values()))
    p.add_argument("--mode", default=None, choices=models.MODES,
                   help="reference (images/videos/audio), text (prompt only) or frames (--start-image, optional "
                        "--end-image); default: frames with --start-image, reference with any --image/--video/"
                        "--audio, else text")
    p.add_argument("--duration", default=None,  # each model's own range is checked (and named) by the request
                   help="seconds, or auto (the model chooses; priced as a range); " + _per_model("duration"))
    p.add_argument("--resolution", default=None, choices=models.all_choices("resolution"),
                   help=_per_model("resolution"))
    p.add_argument("--aspect-ratio", default=None, choices=models.all_choices("aspect_ratio"),
                   help="sent as the model's own field (aspectRatio or ratio); " + _per_model("aspect_ratio"))
    p.add_argument("--camera-fixed", action="store_true", help=f"keep the camera still ({_having('camera_fixed')})")
    p.add_argument("--seed", type=int, default=None, help=f"-1 = random ({_having('seed')})")
    p.add_argument("--no-generate-audio", dest="generate_audio", action="store_const", const=False, default=None,
                   help=f"a silent video ({_having('generate_audio')}; they make sound by default)")
    p.add_argument("--web-search", action="store_true", help=f"let the model search the web (text mode of "
                                                              f"{_having('web_search')})")
    p.add_argument("--task-type", default=None, choices=models.all_choices("task_type"),
                   help=f"auto, or edit: transform the --video reference ({_having('task_type')})")
    p.add_argument("--bitrate", default=None, choices=models.all_choices("bitrate"),
                   help=f"the output's bitrate ({_having('bitrate')}; default standard)")
    p.add_argument("--last-frame", action="store_true",
                   help="also save the last frame as PNG beside the MP4 and print its path on its own line")
    p.add_argument("--real-person", action="store_true",
                   help="the references show real people: convert each image/video reference once into an asset "
                        "kept on your RunningHub account, and send that (" +
                        ", ".join(m.id for m in models.MODELS.values() if m.real_person) + ")")
    p.add_argument("--variation", type=int, default=0, help="change to pay for a new video with the same inputs")
    p.add_argument("--timeout-minutes", type=float, default=facts.DEFAULT_TIMEOUT_S / 60)
    p.add_argument("--output-dir", default=DEFAULT_OUTPUT)


def _site_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", choices=tuple(facts.SITES), default=None,
                   help="cn (default, or RUNNINGHUB_SITE) or ai")


def build_parser() -> argparse.ArgumentParser:
    installed = Path(sys.argv[0]).stem == "runninghub-video"  # the console command of `pip install .`
    parser = argparse.ArgumentParser(prog="runninghub-video" if installed else "python -m runninghub_video",
                                     description="Seedance video on RunningHub: v1-lite, 1.5 Pro, 2.0 (Fast, Mini, "
                                                 "global) and 2.5; from references, a prompt, or first/last frames.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole pipeline against the built-in emulator (no key needed)")
    demo.add_argument("--output-dir", default=DEFAULT_OUTPUT)
    demo.add_argument("--duration", default=None, choices=models.all_choices("duration"))
    demo.add_argument("--model", default=models.DEFAULT_MODEL, choices=tuple(models.MODELS))
    demo.add_argument("--mode", default=None, choices=models.MODES, help="default: the model's first mode")

    gen = sub.add_parser("generate", help="make a video on RunningHub from references (images; on 2.x also "
                                          "videos and audio), a prompt alone, or a start and end image")
    gen.add_argument("--image", action="append", default=[], help="reference image file (repeatable)")
    gen.add_argument("--video", action="append", default=[], help="reference video file (repeatable; 2.x)")
    gen.add_argument("--audio", action="append", default=[], help="reference WAV/MP3 file (repeatable; 2.x)")
    gen.add_argument("--start-image", default=None, help="the first frame (frames mode: 2.0 family, 1.5 Pro)")
    gen.add_argument("--end-image", default=None, help="the last frame (frames mode, optional)")
    gen.add_argument("--prompt", required=True)
    _add_options(gen)
    _site_arg(gen)

    bat = sub.add_parser("batch", help="many videos from a JSON Lines or CSV file (generate's options as keys), "
                                       "at the account's concurrency; run it again to resume")
    bat.add_argument("file", help="one request per line: JSON Lines, or CSV with a header, with generate's options "
                                  "as keys (prompt, model, mode, images, videos, audios, start_image, end_image, "
                                  "duration, resolution, aspect_ratio, seed, generate_audio, variation, ...) and "
                                  "count (variations of the line); paths relative to the file")
    bat.add_argument("--output-dir", default=DEFAULT_OUTPUT)
    bat.add_argument("--timeout-minutes", type=float, default=facts.DEFAULT_TIMEOUT_S / 60)
    _site_arg(bat)
    bat.add_argument("--concurrency", type=int, default=None,
                     help="run at most N at once (default and ceiling: the account's concurrent limit)")
    bat.add_argument("--budget", default=None, help="stop starting new lines before the batch's spend would pass "
                                                    "this amount (site currency); the daily budget still applies")
    bat.add_argument("--strict", action="store_true", help="run nothing if any line is not valid")
    bat.add_argument("--json", action="store_true", help="print one JSON report at the end")

    for name, text in (("status", "show a task's state"), ("fetch", "wait for a task and download its video")):
        p = sub.add_parser(name, help=text)
        p.add_argument("task_id")
        _site_arg(p)
        if name == "fetch":
            p.add_argument("--output-dir", default=DEFAULT_OUTPUT)
            p.add_argument("--timeout-minutes", type=float, default=facts.DEFAULT_TIMEOUT_S / 60)
            p.add_argument("--last-frame", action="store_true", help="also save the last frame as PNG")

    lst = sub.add_parser("list", help="tasks in the local journal, newest first")
    lst.add_argument("--limit", type=int, default=20)
    lst.add_argument("--before", default=None, help="the 'more' cursor of the previous page")
    lst.add_argument("--json", action="store_true", help="the same facts as JSON, for scripts")
    _site_arg(lst)

    budget = sub.add_parser("budget", help="show or set the daily budget of a site (the same setting as "
                                           "ComfyUI's Settings → RunningHub)")
    _site_arg(budget)
    change = budget.add_mutually_exclusive_group()
    change.add_argument("--daily", metavar="AMOUNT", help="refuse runs that would pass this much a day "
                                                          "(in the site's currency: CNY on cn, USD on ai)")
    change.add_argument("--off", action="store_true", help="no daily budget for the site (the default)")
    budget.epilog = ("--daily and --off also work over a damaged budget file: it is kept aside (renamed "
                     "budget.json.damaged-<time>) and a new one written.")

    login = sub.add_parser("login", help="store a key in the user config file (read from a prompt, not argv)")
    _site_arg(login)
    login.add_argument("--remove", action="store_true", help="forget the stored key of the site")

    emu = sub.add_parser("emulator", help="serve the RunningHub emulator on 127.0.0.1")
    emu.add_argument("--port", type=int, default=8765)
    emu.add_argument("--time-scale", type=float, default=1.0,
                     help="multiply the realistic queue and run times (0.1 = ten times faster)")
    emu.add_argument("--real-people", action="store_true",
                     help="every image and video reference shows a real person (1505 unless sent as an asset)")
    emu.add_argument("--asset-seconds", type=float, default=None,
                     help="how long a conversion for real people takes (default 5 s x --time-scale)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except RunningHubError as exc:
        task = f"task {exc.task_id}: " if exc.task_id and exc.task_id not in str(exc) else ""
        print(f"error: {task}{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _interrupted(progress: TerminalProgress) -> int:
    """Ctrl-C while a task was known: it keeps running (and is paid), and the same command picks it up."""
    progress.close()
    if progress.task_id:
        print(f"\ninterrupted: task {progress.task_id} keeps running on RunningHub; run the same command again "
              f"to pick it up (or `fetch {progress.task_id}` within 24 h)", file=sys.stderr)
    elif progress.phase == "submit":  # the answer may be on its way: the journal knows what was sent
        print("\ninterrupted during the submit: it may have been charged; run the same command again to see "
              "what happened (it never pays twice)", file=sys.stderr)
    else:
        print("\ninterrupted before anything was submitted (nothing charged)", file=sys.stderr)
    return 130


def cmd_generate(args: argparse.Namespace) -> int:
    from .media.images import load_image_files
    from .run.pipeline import generate

    request = _request_from(args)  # a bad option, mode or count is refused before any file is read
    frames = {name: load_image_files([path])[0] for name, path in (("start_image", args.start_image),
                                                                  ("end_image", args.end_image)) if path}
    images = load_image_files(args.image)
    progress = TerminalProgress()

    def print_price(row_id: int) -> None:  # every reference checked, nothing uploaded or paid yet
        progress.close()  # the price on a line of its own
        _print_price(request, args.site)

    try:
        result = generate(images, request, videos=args.video, audios=args.audio, site=args.site,
                          output_dir=args.output_dir, on_progress=progress, timeout_s=args.timeout_minutes * 60,
                          variation=args.variation, admit=print_price, **frames)
    except KeyboardInterrupt:
        return _interrupted(progress)
    finally:
        progress.close()
    _print_result(result)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Exit 0 when every line is saved, 3 when some are not (the report says which and why)."""
    import json

    from .run.batch import BatchRun
    from .run.batch_file import read_plan
    from .terminal import BatchTerminalProgress, print_batch_summary

    if args.concurrency is not None and args.concurrency < 1:
        raise RunningHubError("--concurrency must be at least 1.")
    plan = read_plan(args.file, site=args.site, output_dir=args.output_dir, timeout_s=args.timeout_minutes * 60)
    progress = BatchTerminalProgress()
    run = BatchRun(plan, site=args.site, concurrency=args.concurrency, budget=args.budget, on_change=progress)
    if args.strict and plan.bad:
        report = run.refuse(f"--strict: line(s) {', '.join(str(b.line) for b in plan.bad)} not valid")
    else:
        report = run.run()  # Ctrl-C: stops starting and waiting; a second Ctrl-C quits at once
    progress.close()
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print_batch_summary(report, sys.stdout)
    if report.interrupted:
        return 130
    return 0 if report.all_saved else 3


def _print_price(request, site: str | None) -> None:
    """The run's price before anything is uploaded or paid (when the journal has nothing to reuse):
    "≈7.20 CNY (price preview)", a range where only one can be known, or why none is shown. Never
    stops the run (the budget, if any, decides)."""
    from .remote.api import RunningHubClient
    from .remote.config import load_settings
    from .remote.pricing import PREVIEW, quote

    with RunningHubClient(load_settings(site)) as client:
        found = quote(client, request)
    if found.price is None:
        print(f"price: not known before the run on .{client.settings.site} (shown after it)", file=sys.stderr)
        return
    source = "price preview" if found.source == PREVIEW else "model table"
    if not found.price.is_exact:
        source += ", a range: " + ("the model chooses the duration" if request.duration == models.AUTO
                                   else "priced by tokens; assumed the output's at least, twice that at most")
    print(f"price: {format_price(found.price)} ({source})", file=sys.stderr)


def _print_result(result) -> None:
    print(result.video_path.resolve())
    if result.last_frame_path is not None:
        print(result.last_frame_path.resolve())


def cmd_fetch(args: argparse.Namespace) -> int:
    from .run.pipeline import fetch_task

    progress = TerminalProgress()
    try:
        result = fetch_task(args.task_id, site=args.site, output_dir=args.output_dir, on_progress=progress,
                            timeout_s=args.timeout_minutes * 60, want_last_frame=args.last_frame)
    except KeyboardInterrupt:
        progress.task_id = progress.task_id or args.task_id
        return _interrupted(progress)
    finally:
        progress.close()
    if result.note is not None:  # whether it answers an unanswered submit, and if not, how to unblock that
        print(result.note.text(), file=sys.stderr)
    _print_result(result)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .remote.api import RunningHubClient
    from .remote.config import load_settings
    from .remote.task_id import check_task_id

    settings = load_settings(args.site)
    task_id = check_task_id(args.task_id, settings.site)
    with RunningHubClient(settings) as client:
        status = client.query(task_id)
    print(f"task {status.task_id}: {status.status or '?'}")
    if status.cost is not None:
        print(f"cost: {format_money(status.cost)}")
    if status.video_url:
        print(f"video: {status.video_url}")
    if status.image_url:
        print(f"last frame: {status.image_url}")
    if status.error_code:
        print(f"error {status.error_code}: {status.failure_text()}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """The inbox of the ComfyUI tab as text (or ``--json``): every task, newest first, and the spend."""
    import json

    from .ledger import inbox

    page = inbox.page(limit=args.limit, before=args.before, site=args.site)
    page["totals"] = inbox.totals()
    if args.json:
        print(json.dumps(page, ensure_ascii=False, indent=2))
        return 0
    if not page["tasks"]:
        print("no tasks in the journal")
    for task in page["tasks"]:
        print(_task_line(task))
    for period in ("today", "month"):
        spent = ", ".join(f"{_money(e['amount'], e['currency'])} on .{e['site']} ({e['tasks']} task(s))"
                          for e in page["totals"][period])
        print(f"spent {'this month' if period == 'month' else period}: {spent or 'nothing recorded'}")
    if page["next"]:
        print(f"more: --before {page['next']}")
    return 0


def _task_line(task: dict) -> str:
    """One task in two lines: when, site, id, state, cost, time; then model, options, prompt or file."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(task["created_at"]))
    cost = _money(task["cost"], task["currency"])
    elapsed = "" if task["elapsed_s"] is None else f"{task['elapsed_s']:.0f}s"
    options = " · ".join(_option_words(k, v) for k, v in task["options"].items()
                         if k != "cameraFixed" or str(v).lower() == "true")
    where = task["video_path"] or ("recoverable: fetch " + task["task_id"] if task["recoverable"] else
                                   task["lookup_url"] if task["phase"] == "ambiguous" else task["error"])
    return (f"{when}  .{task['site']}  {task['task_id'] or '-':<19}  {task['state']:<11} {cost:>10}  {elapsed:>6}\n"
            f"    {task['model']}  {options}  \"{task['prompt'][:60]}\"  {where}")


def _option_words(wire: str, value) -> str:
    """One option of a journal row as a person reads it ("5 s", "camera fixed", "with sound", "seed 7")."""
    if wire == "duration":
        return f"{value} s"
    if wire == "cameraFixed":
        return "camera fixed"
    if isinstance(value, bool) or str(value).lower() in ("true", "false"):
        on = str(value).lower() == "true"
        if wire == "generateAudio":
            return "with sound" if on else "silent"
        return f"{wire} {'on' if on else 'off'}"
    return f"{wire} {value}" if wire == "seed" else str(value)


def _money(amount: float | None, currency: str) -> str:
    """An amount of the inbox's JSON (``list --json`` prints the same), as the tab shows it; "-" when unknown."""
    found = parse_money(amount, currency)
    return "-" if found is None else format_money(found)


def cmd_budget(args: argparse.Namespace) -> int:
    """Set (``--daily``), turn off (``--off``) or, without either, show each site's budget and day.
    Setting over a damaged budget file keeps that file aside and says where."""
    from .run import spend
    from .words.wording import budget_kept_aside

    if args.daily is not None or args.off:  # an explicit choice: it may replace a damaged file (kept aside)
        site = args.site or os.environ.get("RUNNINGHUB_SITE") or facts.DEFAULT_SITE
        _, kept = spend.reset_daily_budget(site, None if args.off else args.daily, no_budget=args.off)
        if kept:
            print(budget_kept_aside(kept.path, kept.held))
        sites = [site, *kept.held] if kept else [site]
    else:
        sites = [args.site] if args.site else list(facts.SITES)
    for site in sites:
        print(_budget_line(spend.status(site)))
    print(f"budget file: {spend.budget_path()}")
    return 0


def _budget_line(day) -> str:
    """A site's budget and today's figures in one line."""
    budget = "off" if day.budget is None else format_money(day.budget)
    line = f".{day.site}: daily budget {budget}; spent today {format_money(day.spent)} ({day.charged_tasks} task(s))"
    if day.running_tasks:
        line += ";" + day.unreported()
    if day.unpriced:
        line += f" (no price known for {', '.join(day.unpriced)}: runs are refused while a budget is set)"
    if day.budget is not None:
        left = max(day.budget.amount - day.committed.amount, Decimal(0))
        line += f"; left {format_money(Money(left, day.currency))}"
    return line


def cmd_login(args: argparse.Namespace) -> int:
    from .remote.config import write_key
    from .core.redaction import mask_key

    site = args.site or os.environ.get("RUNNINGHUB_SITE") or facts.DEFAULT_SITE
    if args.remove:
        print(f"removed the .{site} key from {write_key(site, None)}")
        return 0
    key = getpass.getpass(f"RunningHub Enterprise-Shared API key for .{site}: ").strip()
    if not key:
        print("no key entered; nothing changed", file=sys.stderr)
        return 1
    path = write_key(site, key)
    print(f"saved key {mask_key(key)} for .{site} in {path}")
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    from .emulator import serve

    serve(port=args.port, time_scale=args.time_scale, real_people=args.real_people, asset_s=args.asset_seconds)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(output_dir=Path(args.output_dir), duration=args.duration, model=args.model, mode=args.mode)


COMMANDS = {"demo": cmd_demo, "generate": cmd_generate, "batch": cmd_batch, "status": cmd_status, "fetch": cmd_fetch,
            "list": cmd_list, "budget": cmd_budget, "login": cmd_login, "emulator": cmd_emulator}
