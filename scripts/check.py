"""Entry point of the `check` stage (see augaudit.stages.check)."""

from augaudit import cli
from augaudit.stages import check

if __name__ == "__main__":
    args = cli.parser(__doc__).parse_args()
    cli.main(args, check.run)
