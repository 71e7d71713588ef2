"""Entry point of the `predict` stage (see augaudit.stages.predict)."""

from augaudit import cli, stageparams

if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--variant", required=True)
    p.add_argument("--perturbation", required=True, help="a perturbation name, or 'clean'")
    args = p.parse_args()
    cli.main(args, lambda params: stageparams.call(
        params, "predict", variant=cli.item(params, "variants", args.variant),
        perturbation=args.perturbation if args.perturbation == "clean"
        else cli.item(params, "perturbations", args.perturbation)))
