"""What a long stage is doing, on stderr (the job's log under Snakemake and DVC): tqdm's progress per
item and a last line saying what the stage did.

In a terminal tqdm redraws one line; in a log file (not a terminal) each refresh becomes its own line,
at most one every `LOG_INTERVAL` seconds plus the first and the last, so logs stay small.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between progress lines in a log file


class _Lines:
    """tqdm's carriage-return redraws as separate lines, for a file that is not a terminal."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def steps(items: Iterable, desc: str, total: int | None = None, unit: str = "it") -> tqdm:
    """`items`, with progress: `desc` names the stage and its item (`predict mixed on fog`)."""
    tty = sys.stderr.isatty()
    return tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr if tty else _Lines(sys.stderr),
                mininterval=0.1 if tty else LOG_INTERVAL, ascii=not tty, dynamic_ncols=tty)


def done(what: str, start: float) -> None:
    """The stage's last line before its timing: what it did and how long the work took."""
    print(f"{what} ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
