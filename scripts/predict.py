"""Entry point of the `predict` stage (see augaudit.stages.predict)."""

from augaudit import cli
from augaudit.stages import predict

if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--variant", required=True)
    p.add_argument("--perturbation", required=True, help="a perturbation name, or 'clean'")
    args = p.parse_args()
    cli.main(args, lambda params: predict.run(params, cli.item(params, "variants", args.variant),
                                              args.perturbation if args.perturbation == "clean"
                                              else cli.item(params, "perturbations", args.perturbation)))
