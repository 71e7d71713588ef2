"""Entry point of the `report` stage (see augaudit.stages.report)."""

from augaudit import cli
from augaudit.stages import report

if __name__ == "__main__":
    args = cli.parser(__doc__).parse_args()
    cli.main(args, report.run)
