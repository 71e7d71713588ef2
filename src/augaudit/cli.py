"""Shared argument handling for the stage entry points in scripts/.

Each script parses its own arguments and calls `main`, which loads and validates params.yaml and
turns the library's expected errors into one line on stderr and exit status 1 (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from augaudit import config
from augaudit.datasets import DatasetError


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def main(args: argparse.Namespace, run: Callable[[dict], object]) -> None:
    try:
        params = config.load(args.params)
        run(params)
    except (config.ConfigError, DatasetError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


def item(params: dict, section: str, name: str) -> str:
    """`name` if params[section] declares it, else a one-line error naming the key."""
    if name not in params[section]:
        raise config.ConfigError(f"params.yaml: {section}.{name}: not declared (known: {', '.join(params[section])})")
    return name
