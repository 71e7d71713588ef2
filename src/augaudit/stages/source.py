"""source: the content fingerprint of the dataset prepare reads, in results/source/fingerprint.json.

prepare copies a user's dataset (a data yaml and the files it reaches, through `path:` too) into
data/clean and depends on this file, so an edited label, an added or removed image re-run it in both
engines, and nothing else does: the fingerprint is a SHA-256 over every source file's relative path and
content (augaudit.datasets.fingerprint; content hashes remembered by size, mtime and inode in
.config/augaudit/sources.json, so a no-op costs a stat per file). Snakemake re-runs this stage when the
fingerprint it computes while planning changes (the rule's params); DVC runs it on every `dvc repro`
(`always_changed`) and re-runs prepare when the file's bytes change. The synthetic default has no files:
its fingerprint is the word `synthetic`.
"""

from __future__ import annotations

from pathlib import Path

from augaudit import datasets, paths, runtime
from augaudit.files import write_json


def fingerprint(params: dict) -> str:
    source = params["dataset"]["source"]
    if source == "synthetic":
        return "synthetic"
    return datasets.fingerprint(source, runtime.config_dir() / "augaudit" / "sources.json")


def run(params: dict) -> Path:
    """Write the fingerprint (atomically). No provenance.json beside it: its bytes are prepare's trigger,
    and a record of the code's commit would change them with every commit."""
    paths.SOURCE.parent.mkdir(parents=True, exist_ok=True)
    write_json(paths.SOURCE, {"source": params["dataset"]["source"], "sha256": fingerprint(params)})
    return paths.SOURCE
