"""The rustybt command line, run as a real subprocess where exit codes and stderr matter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rustybt.cli import main


def run(*args: str, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rustybt.cli", "--root", str(root), *args], capture_output=True, text=True
    )


def test_ingest_registers_on_first_use_then_lists_and_describes(tmp_path, csvdir, capsys):
    root = tmp_path / "cat"
    assert main(["--root", str(root), "ingest", "zl", "--csvdir", str(csvdir), "--no-progress"]) == 0
    assert "3,016 rows" in capsys.readouterr().out
    assert main(["--root", str(root), "bundles"]) == 0
    assert "zl" in capsys.readouterr().out
    assert main(["--root", str(root), "info", "zl"]) == 0
    out = capsys.readouterr().out
    assert "4 assets" in out and "AAPL" in out and "2 splits" in out
    assert main(["--root", str(root), "ingest", "zl", "--no-progress"]) == 0  # re-ingest from the stored source
    assert main(["--root", str(root), "clean", "zl", "--keep-last", "1"]) == 0
    assert "removed 1 ingestion" in capsys.readouterr().out
    assert main(["--root", str(root), "verify", "zl"]) == 0


def test_ingest_csv_files(tmp_path, csvdir, capsys):
    root = tmp_path / "cat"
    files = [str(csvdir / "daily" / "AAPL.csv"), str(csvdir / "daily" / "KO.csv")]
    assert main(["--root", str(root), "ingest", "two", "--csv", *files, "--no-progress"]) == 0
    assert "2 assets" in capsys.readouterr().out


def test_unknown_bundle_exits_nonzero_with_message(tmp_path):
    proc = run("info", "nope", root=tmp_path)
    assert proc.returncode == 1
    assert "error: no bundle named 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ingest_unknown_bundle_without_source(tmp_path):
    proc = run("ingest", "fresh", root=tmp_path)
    assert proc.returncode == 1
    assert "--csvdir" in proc.stderr


def test_bad_name_refused(tmp_path, csvdir):
    proc = run("ingest", "../escape", "--csvdir", str(csvdir), root=tmp_path)
    assert proc.returncode == 2  # a mistake in the request (issue 16)
    assert "invalid bundle name" in proc.stderr
    assert not (tmp_path.parent / "escape").exists()


def test_verify_fails_on_corruption(tmp_path, csvdir):
    root = tmp_path / "cat"
    assert run("ingest", "zl", "--csvdir", str(csvdir), "--no-progress", root=root).returncode == 0
    for f in root.glob("bundles/zl/*/bars/frequency=1d/year=2013/part-0.parquet"):
        f.write_bytes(f.read_bytes()[:200])
    proc = run("verify", "zl", root=root)
    assert proc.returncode == 1
    assert "year=2013" in proc.stdout and "size mismatch" in proc.stdout


@pytest.mark.slow
def test_demo_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "rustybt.cli", "demo", "--no-progress"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "AAPL around its 7:1 split" in proc.stdout
    assert "all checksums match" in proc.stdout


def test_pipeline_command_runs_a_file_and_writes_parquet(tmp_path, csvdir):
    import polars as pl

    root = tmp_path / "cat"
    assert run("ingest", "zl", "--csvdir", str(csvdir), "--no-progress", root=root).returncode == 0
    script = tmp_path / "pipe.py"
    script.write_text(
        "from rustybt.pipeline import Pipeline\n"
        "from rustybt.pipeline.data import EquityPricing\n"
        "pipe = Pipeline(columns={'close': EquityPricing.close.latest})\n"
    )
    out = tmp_path / "out.parquet"
    proc = run("pipeline", str(script), "--bundle", "zl", "--start", "2014-01-02", "--end", "2014-01-03",
               "--out", str(out), root=root)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    frame = pl.read_parquet(out)
    assert frame.height == 8  # 2 sessions x 4 assets
    closes = {r[-1] for r in frame.rows()}
    assert 37.41 in {round(c, 2) for c in closes}  # MSFT close of 2013-12-31, shown on 2014-01-02


def test_pipeline_file_without_pipeline(tmp_path, csvdir):
    root = tmp_path / "cat"
    assert run("ingest", "zl", "--csvdir", str(csvdir), "--no-progress", root=root).returncode == 0
    script = tmp_path / "empty.py"
    script.write_text("x = 1\n")
    proc = run("pipeline", str(script), "--bundle", "zl", "--start", "2014-01-02", "--end", "2014-01-03", root=root)
    assert proc.returncode == 2  # a mistake in the request (issue 16)
    assert "defines no Pipeline" in proc.stderr


def test_config_command_shows_every_switch_with_its_source(tmp_path, monkeypatch):
    from rustybt.config import SWITCHES

    monkeypatch.setenv("RUSTYBT_BARS_CACHE", "off")
    done = run("config", root=tmp_path / "cat")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"catalog root     {tmp_path / 'cat'}" in lines and "root comes from  explicit argument" in lines
    for switch in SWITCHES:
        assert any(line.split()[:1] == [switch.name] for line in lines), switch.name
    bars = next(line for line in lines if line.split()[:1] == ["RUSTYBT_BARS_CACHE"])
    assert bars.split()[1:3] == ["off", "environment"]


def test_a_failed_ingest_with_a_new_source_keeps_the_old_registration(tmp_path, csvdir, capsys):
    root = tmp_path / "cat"
    assert main(["--root", str(root), "ingest", "zl", "--csvdir", str(csvdir), "--no-progress"]) == 0
    from rustybt import Catalog

    before = Catalog(root=root).store.get_bundle("zl")
    bad = tmp_path / "bad"
    (bad / "daily").mkdir(parents=True)
    (bad / "daily" / "X.csv").write_text("date,open,high,low,close,volume\nnot a date,1,1,1,1,1\n")
    assert main(["--root", str(root), "ingest", "zl", "--csvdir", str(bad), "--no-progress"]) != 0
    assert Catalog(root=root).store.get_bundle("zl") == before
    assert main(["--root", str(root), "ingest", "zl", "--no-progress"]) == 0  # still the good source
    # a new bundle whose first ingest fails is not left registered
    assert main(["--root", str(root), "ingest", "fresh", "--csvdir", str(bad), "--no-progress"]) != 0
    assert "fresh" not in Catalog(root=root)


@pytest.fixture(scope="module")
def shared_zl(tmp_path_factory) -> Path:
    CSVDIR = Path(__file__).parent / "resources" / "zipline-csvdir"  # tests/conftest.py's CSVDIR

    root = tmp_path_factory.mktemp("cli") / "cat"
    assert run("ingest", "zl", "--csvdir", str(CSVDIR), "--no-progress", root=root).returncode == 0
    return root


@pytest.mark.parametrize(
    "args",
    [
        ["clean", "zl", "--before", "notadate"],
        ["pipeline", "PIPE", "--bundle", "zl", "--start", "notadate", "--end", "2013-01-10"],
        ["pipeline", "PIPE", "--bundle", "zl", "--start", "2013-01-05", "--end", "2013-01-10"],  # a Saturday
        ["pipeline", "PIPE", "--bundle", "zl", "--start", "2001-01-02", "--end", "2001-02-01"],  # too early
        ["pipeline", "PIPE", "--bundle", "zl", "--start", "2020-01-02", "--end", "2020-01-31"],  # too late
        ["pipeline", "PIPE", "--bundle", "zl", "--start", "2013-02-01", "--end", "2013-01-02"],  # end before start
        ["pipeline", "PIPE", "--bundle", "zl", "--start", "2013-01-02", "--end", "2013-02-01", "--out", "/no/x.pq"],
        ["pipeline", "PIPE", "--bundle", "zl", "--start", "2013-01-02", "--end", "2013-02-01", "--chunksize", "0"],
        ["ingest", "zl", "--workers", "-3"],
    ],
)
def test_user_mistakes_exit_2_with_one_line_and_no_traceback(shared_zl, tmp_path, args):
    root = shared_zl
    pipe = tmp_path / "p.py"
    pipe.write_text(
        "from rustybt.pipeline.factors import Returns\n"
        "pipe = pipeline.Pipeline(columns={'r': Returns(window_length=2)})\n"
    )
    proc = run(*[str(pipe) if a == "PIPE" else a for a in args], root=root)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(("error:", "rustybt "))


@pytest.mark.parametrize("bad_root", ["file", "/proc/no/such/dir"])
def test_an_unusable_root_is_one_line(tmp_path, csvdir, bad_root):
    root = tmp_path / "f" if bad_root == "file" else Path(bad_root)
    if bad_root == "file":
        root.write_text("x")
    proc = run("ingest", "zl", "--csvdir", str(csvdir), "--no-progress", root=root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_damaged_catalog_database_and_a_broken_pipe(tmp_path, csvdir):
    root = tmp_path / "cat"
    assert main(["--root", str(root), "ingest", "zl", "--csvdir", str(csvdir), "--no-progress"]) == 0
    piped = subprocess.run(
        f"{sys.executable} -m rustybt.cli --root {root} info zl | head -1", shell=True, capture_output=True, text=True
    )
    assert "Traceback" not in piped.stderr and piped.stdout.startswith("bundle")
    (root / "catalog.sqlite").write_bytes(b"not a database" * 100)
    proc = run("bundles", root=root)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "catalog database is damaged" in proc.stderr


def test_a_misspelt_adapter_key_is_refused_naming_it(tmp_path, monkeypatch):
    from rustybt.config import load_config
    from rustybt.errors import ConfigError

    cfg = tmp_path / "c.yaml"
    cfg.write_text("adapters:\n  yfinance:\n    rate_limt: 2\n")
    with pytest.raises(ConfigError, match=r"adapters\.yfinance\.rate_limt.*rate_limit"):
        load_config(cfg)


def test_read_only_commands_create_nothing_on_disk(tmp_path):
    root = tmp_path / "nowhere"
    assert run("bundles", root=root).returncode == 0
    assert run("info", "x", root=root).returncode == 1
    from rustybt import Catalog

    assert Catalog(root=root).bundles() == []
    assert not root.exists()


@pytest.mark.slow
def test_demo_keep_leaves_the_sample_bundles_in_the_catalog(tmp_path):
    root = tmp_path / "cat"
    proc = run("demo", "--no-progress", "--keep", root=root)
    assert proc.returncode == 0, proc.stderr
    assert "rustybt info sample" in proc.stdout
    assert run("info", "sample", root=root).returncode == 0
