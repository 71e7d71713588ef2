"""Entry point of the `train` stage (see augaudit.stages.train)."""

from augaudit import cli
from augaudit.stages import train

if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--variant", required=True)
    args = p.parse_args()
    cli.main(args, lambda params: train.run(params, cli.item(params, "variants", args.variant)))
