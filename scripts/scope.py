"""Entry point of the `scope` stage (see augaudit.stages.scope)."""

from augaudit import cli, stageparams

if __name__ == "__main__":
    args = cli.parser(__doc__).parse_args()
    cli.main(args, lambda params: stageparams.call(params, "scope"))
