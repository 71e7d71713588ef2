"""Propose training augmentations for a finished run's weakest factors (see augaudit.prescribe).

Not a pipeline stage: run it after `snakemake --cores all` or `dvc repro`. It writes
results/prescription/{params.yaml,params.diff,prescription.json}; docs/prescribe.md has the rules.
"""

import json

from augaudit import cli, paths, prescribe

if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0])
    p.add_argument("--variant", action="append", default=[],
                   help="prescribe for this variant (repeatable; default: every variant with results that is neither "
                        "prescribed for already nor a control)")
    p.add_argument("--factors", type=int, help="how many of the weakest factors (default: the table's policy, 2)")
    p.add_argument("--zone", help="whose breaking point sets magnitudes: yellow or red (default: red)")
    p.add_argument("--min-risk", type=float, help="risk a factor must reach, percent (default: the yellow zone)")
    p.add_argument("--keep-clean", type=float,
                   help="share of training images the added transforms leave untouched (default: 0.5)")
    p.add_argument("--from-scratch", action="store_true",
                   help="start from the variant's own init instead of warm-starting from its trained models")
    p.add_argument("--summary", default=str(paths.SUMMARY), help="the finished run's summary (default: %(default)s)")
    p.add_argument("--out", default=str(prescribe.OUT), help="output folder (default: %(default)s)")
    args = p.parse_args()
    options = prescribe.Options(variants=tuple(args.variant), factors=args.factors, zone=args.zone,
                                min_risk=args.min_risk, keep_clean=args.keep_clean, from_scratch=args.from_scratch)

    def run(params: dict) -> None:
        out = prescribe.run(params, args.params, args.summary, args.out, options)
        record = json.loads((out / "prescription.json").read_text())
        print("\n".join(prescribe.summary_lines(record)))
        if record["variants"]:
            print(f"wrote {out}/params.yaml, params.diff, prescription.json; run it with:\n"
                  f"  cp {out}/params.yaml params.yaml && snakemake --cores all   (or: dvc repro)")
        else:
            print(f"wrote {out}/prescription.json (nothing to run)")

    cli.main(args, run)
