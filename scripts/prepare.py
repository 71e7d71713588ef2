"""Entry point of the `prepare` stage (see augaudit.stages.prepare)."""

import os

from augaudit import cli, dvcfile, stageparams


def prepare(params: dict) -> None:
    if os.environ.get("DVC_STAGE") == "prepare":  # dvc repro: dvc.yaml must depend on today's dataset
        dvcfile.check_source(params)
    stageparams.call(params, "prepare")


if __name__ == "__main__":
    args = cli.parser(__doc__).parse_args()
    cli.main(args, prepare)
