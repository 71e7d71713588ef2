"""Entry point of the `perturb` stage (see augaudit.stages.perturb)."""

from augaudit import cli, stageparams

if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--perturbation", required=True)
    p.add_argument("--workers", type=int, default=None, help="processes (default: the job's threads, or all cores)")
    args = p.parse_args()
    cli.main(args, lambda params: stageparams.call(
        params, "perturb", perturbation=cli.item(params, "perturbations", args.perturbation), workers=args.workers))
