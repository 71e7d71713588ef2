"""Entry point of the `score` stage (see augaudit.stages.score)."""

from augaudit import cli, stageparams

if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--variant", required=True)
    args = p.parse_args()
    cli.main(args, lambda params: stageparams.call(params, "score", variant=cli.item(params, "variants", args.variant)))
