"""Shared argument handling for the stage entry points in scripts/.

Each script parses its own arguments and calls `main`, which loads and validates params.yaml, runs the
stage, writes its last line `timing: start-up S s, work W s` (start-up: from the process's start through
its imports, params and `runtime.offline()`; work: the rest; `make profile` sums them per stage) and
turns the library's expected errors (bad params or data, and the operating system's: a path that is not
writable, not a folder, too long; the message names it) into one line on stderr and exit status 1 (no
traceback). An unexpected error prints its traceback (into the job's log under Snakemake), then one last
line that names the stage, its item and the error, so the end of the log says what failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from augaudit import paramsfile, runtime, stageparams
from augaudit.datasets import DatasetError


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def main(args: argparse.Namespace, run: Callable[[dict], object], name: str | None = None) -> None:
    """Run `run(params)` as stage `name` (default: the entry script's name)."""
    stage = name or Path(sys.argv[0]).stem
    try:
        params = paramsfile.load(args.params, runtime.config_dir() / "augaudit")  # as the Snakefile left it
        is_stage = importlib.util.find_spec(f"augaudit.stages.{stage}") is not None
        if is_stage:  # its imports are start-up, not work
            importlib.import_module(f"augaudit.stages.{stage}")
        ready = runtime.since_start()
        run(params)
        end = runtime.since_start()
        startup = max(ready, runtime.READY or 0.0)
        if is_stage:
            print(f"timing: start-up {startup:.2f} s, work {end - startup:.2f} s", file=sys.stderr)
            _exit_now()
    # OSError: permission, not-a-directory, name too long...
    except (paramsfile.ParamsError, DatasetError, runtime.DeviceError, OSError) as e:
        print(f"error: {error_line(e)}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # a bug or an input no check foresaw: say where, keep the traceback for the log
        traceback.print_exc()
        item = " ".join(f"--{k} {v}" for k, v in vars(args).items()
                        if k not in ("params", "subcommand") and v is not None and not callable(v))
        print(f"error: {stage} {item}: unexpected {type(e).__name__}: {' '.join(str(e).split())[:300]} "
              "(traceback above)", file=sys.stderr)
        sys.exit(1)


def error_line(e: BaseException) -> str:
    """An expected error as one line; an operating-system error as `path: what` (not `[Errno 2] ...`)."""
    if isinstance(e, FileExistsError) and e.filename is not None and not Path(e.filename).is_dir():
        text = f"{e.filename}: a file where a folder is needed; move it away"
    elif isinstance(e, OSError) and e.filename is not None:
        text = f"{e.filename}: {e.strerror or e}" + (f" (to {e.filename2})" if e.filename2 else "")
    else:
        text = str(e)
    return " ".join(text.split())


def _exit_now() -> None:
    """Exit 0 without the interpreter's teardown: a stage's outputs are written (atomically) and closed
    by now, and tearing down torch and Ultralytics costs about 0.6 s a job (docs/performance.md) for
    nothing a stage needs."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def item(params: dict, section: str, name: str) -> str:
    """`name` if params[section] declares it, else a one-line error naming the key."""
    if name not in params[section]:
        known = ", ".join(params[section])
        raise paramsfile.ParamsError(f"params.yaml: {section}.{name}: not declared (known: {known})")
    return name


def replicate(params: dict, variant: str, name: str) -> str:
    """`name` if the variant has that replicate, else a one-line error saying which it has."""
    names = stageparams.replicate_names(params, variant)
    if name not in names:
        raise paramsfile.ParamsError(
            f"params.yaml: variants.{variant}: no replicate {name!r} (it has {', '.join(names)})")
    return name
