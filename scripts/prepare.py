"""Entry point of the `prepare` stage (see augaudit.stages.prepare)."""

from augaudit import cli
from augaudit.stages import prepare

if __name__ == "__main__":
    args = cli.parser(__doc__).parse_args()
    cli.main(args, prepare.run)
