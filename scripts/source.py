"""Entry point of the `source` stage (see augaudit.stages.source)."""

from augaudit import cli, stageparams

if __name__ == "__main__":
    args = cli.parser(__doc__).parse_args()
    cli.main(args, lambda params: stageparams.call(params, "source"))
