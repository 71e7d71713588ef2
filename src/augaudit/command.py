"""`augaudit <subcommand>`: the tools a user runs by hand, beside the pipeline's stages.

Each subcommand's module declares its options (`add_arguments`) and runs them (`command`, returning the
exit status); only the chosen one is imported, so `augaudit gate` does not load torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {  # name: (module, one line for `augaudit --help`)
    "prescribe": ("augaudit.prescribe", "propose training augmentations for a finished run's weakest factors "
                                        "(docs/prescribe.md)"),
    "gate": ("augaudit.gate", "exit 1 when a run's risk rose significantly against a baseline run (CI)"),
    "profile": ("augaudit.timings", "where the last Snakemake run's time went, per stage"),
    "catalogue-sheet": ("augaudit.catalogue_sheet", "regenerate docs/perturbation-catalogue.png (the catalogue at "
                                                    "severities 1, 3, 5)"),
    "dvc-yaml": ("augaudit.dvcfile", "write dvc.yaml's code dependencies and params from the imports and the "
                                     "stages' declared params"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="augaudit", description="The tools a user runs by hand, beside the pipeline's "
                                "stages (snakemake --cores all, dvc repro). `augaudit <subcommand> --help` for each.")
    sub = p.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, line) in SUBCOMMANDS.items():
        q = sub.add_parser(name, help=line, description=line)
        if name == chosen:
            mod = importlib.import_module(module)
            q.description = (mod.__doc__ or line).strip()
            q.formatter_class = argparse.RawDescriptionHelpFormatter
            mod.add_arguments(q)
            q.set_defaults(command=mod.command)
    args = p.parse_args(argv)
    try:
        return int(args.command(args) or 0)
    except OSError as e:  # a path that is missing, not writable, a file where a folder is needed...
        from augaudit.cli import error_line

        print(f"error: {error_line(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
