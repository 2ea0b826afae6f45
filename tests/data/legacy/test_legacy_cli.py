"""``rustybt migrate`` through argparse, run as a real subprocess (exit codes and stderr matter)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from _legacy_data import INGESTION

from rustybt import Catalog
from rustybt.data.legacy.cli import add_migrate_command


def run(*args: str, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rustybt.data.legacy.cli", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_parser_shape():
    parser = argparse.ArgumentParser(prog="rustybt")
    add_migrate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["migrate", "SRC", "--to", "zl", "--overwrite", "--no-validate", "--compression", "zstd"])
    assert (args.source, args.name, args.overwrite, args.no_validate, args.compression) == (
        "SRC",
        "zl",
        True,
        True,
        "zstd",
    )
    assert args.func.__name__ == "cmd_migrate"


def test_migrate_command_end_to_end(tmp_path):
    root = tmp_path / "cat"
    done = run("migrate", str(INGESTION), "--to", "zl", "--compression", "snappy", "--no-progress", root=root)
    assert done.returncode == 0, done.stderr
    assert "rows         3,016" in done.stdout and "OK: 15,080 values identical" in done.stdout
    assert Catalog(root=root).bundle("zl").rows == 3016

    again = run("migrate", str(INGESTION), "--to", "zl", "--no-progress", root=root)
    assert again.returncode == 1
    assert "error: bundle 'zl' already exists" in again.stderr and "--overwrite" in again.stderr

    over = run("migrate", str(INGESTION), "--to", "zl", "--overwrite", "--no-validate", "--no-progress", root=root)
    assert over.returncode == 0, over.stderr
    assert "not validated" in over.stdout
    assert len(Catalog(root=root).ingestions("zl")) == 2


def test_migrate_command_reports_a_bad_source(tmp_path):
    (tmp_path / "empty").mkdir()
    done = run("migrate", str(tmp_path / "empty"), "--to", "zl", root=tmp_path / "cat")
    assert done.returncode == 1
    assert "is not a zipline bundle: expected an ingestion directory with daily_equities.bcolz/" in done.stderr
    assert "Traceback" not in done.stderr
