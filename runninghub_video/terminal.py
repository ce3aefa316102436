"""Progress on a terminal: what the CLI and the demo show while a video is made (in English)."""
from __future__ import annotations

import shutil
import sys

from .core.events import ProgressEvent
from .words.wording import describe


class TerminalProgress:
    """One self-rewriting status line on stderr (plain lines when not a terminal)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr  # looked up per run: sys.stderr may be replaced after import
        self.tty = self.stream.isatty()
        self.last = ""

    def __call__(self, event: ProgressEvent) -> None:
        width = 24
        bar = ""
        if event.fraction is not None:
            filled = int(width * max(0.0, min(1.0, event.fraction)))
            bar = "[" + "#" * filled + "-" * (width - filled) + "] "
        line = f"{bar}{event.phase:<8} {describe(event)}"
        if self.tty:
            cols = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + line[: cols - 1].ljust(cols - 1))
        elif line != self.last and event.phase not in ("download",):
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last = line

    def close(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()
