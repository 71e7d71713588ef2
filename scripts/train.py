"""Entry point of the `train` stage (see augaudit.stages.train)."""

from augaudit import cli, stageparams

if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--variant", required=True)
    p.add_argument("--replicate", help="one replicate (r0, r1, ...); default: every replicate of the variant")
    args = p.parse_args()
    cli.main(args, lambda params: stageparams.call(
        params, "train", variant=cli.item(params, "variants", args.variant),
        replicate=args.replicate and cli.replicate(params, args.variant, args.replicate)))
