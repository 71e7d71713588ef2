"""Entry point of the `compare` stage (see augaudit.stages.compare)."""

from augaudit import cli
from augaudit.stages import compare

if __name__ == "__main__":
    args = cli.parser(__doc__).parse_args()
    cli.main(args, compare.run)
