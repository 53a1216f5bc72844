"""Compiled rule scans are cached on disk: a second load reads them, a bad file is rebuilt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hyperscan
from click.testing import CliRunner

from monitor.cli import _register, cli
from monitor.rules.hscache import CachedCompiler, user_cache_dir
from monitor.rules.loader import load_rule_set
from tests.rules_helpers import entry

ROOT = Path(__file__).resolve().parent.parent
_register()
EXPRESSIONS = [b"treaty", b"withdraw", b"ultimatum"]
FLAGS = [hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS] * 3


def _seen(database: hyperscan.Database, text: bytes) -> set[int]:
    found: set[int] = set()
    database.scan(text, match_event_handler=lambda p, *_: found.add(p))
    return found


def _files(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}


def test_a_second_compiler_reads_the_database_the_first_one_stored(tmp_path: Path) -> None:
    """The first build compiles and stores; a fresh compiler loads it and it scans the same."""
    first = CachedCompiler(tmp_path)
    built = first.database(EXPRESSIONS, FLAGS)
    second = CachedCompiler(tmp_path)
    loaded = second.database(EXPRESSIONS, FLAGS)
    assert (first.compiled, first.loaded, second.compiled, second.loaded) == (1, 0, 0, 1)
    text = b"US to WITHDRAW from the treaty"
    assert _seen(loaded, text) == _seen(built, text) == {0, 1}


def test_other_patterns_get_their_own_cache_file(tmp_path: Path) -> None:
    """A changed pattern list is compiled anew, not served the old database."""
    CachedCompiler(tmp_path).database(EXPRESSIONS, FLAGS)
    other = CachedCompiler(tmp_path)
    database = other.database([b"accord"], FLAGS[:1])
    assert other.compiled == 1
    assert _seen(database, b"the accord") == {0}


def test_a_corrupt_or_truncated_cache_file_is_ignored_and_written_again(tmp_path: Path) -> None:
    """Flipped bytes, a cut-off file and foreign content all lead to a fresh, working build."""
    CachedCompiler(tmp_path).database(EXPRESSIONS, FLAGS)
    (path,) = tmp_path.glob("*.hsdb")
    good = path.read_bytes()
    # hyperscan itself loads a database whose last byte changed: the checksum catches it
    for bad in (good[:-1] + bytes([good[-1] ^ 1]), good[:-40], b"not a database"):
        path.write_bytes(bad)
        compiler = CachedCompiler(tmp_path)
        database = compiler.database(EXPRESSIONS, FLAGS)
        assert (compiler.compiled, compiler.loaded) == (1, 0)
        assert _seen(database, b"an ultimatum") == {2}
        assert path.read_bytes() == good


def test_an_unwritable_cache_directory_only_costs_time(tmp_path: Path) -> None:
    """When the cache cannot be written the database is still built and works."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    compiler = CachedCompiler(blocker / "cache")
    assert _seen(compiler.database(EXPRESSIONS, FLAGS), b"treaty") == {0}


def test_loading_the_pack_twice_reads_the_cache_and_matches_the_same(tmp_path: Path) -> None:
    """The second load of the shipped rules rewrites no cache file and finds the same matches."""
    first = load_rule_set([ROOT / "rules"], cache_dir=tmp_path)
    written = _files(tmp_path)
    assert any(name.endswith(".hsdb") for name in written)
    second = load_rule_set([ROOT / "rules"], cache_dir=tmp_path)
    assert _files(tmp_path) == written
    sample = entry(title="Russia suspends New START", summary="Moscow will withdraw from INF")
    assert second.match(sample) == first.match(sample)


def test_one_shot_commands_cache_under_xdg_cache_home(tmp_path: Path) -> None:
    """``treaty-monitor rules check`` leaves the compiled scan in $XDG_CACHE_HOME/treaty-monitor."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(
        "version: 1\nrules:\n  - id: r\n    title: T\n    severity: low\n"
        "    channels: [c]\n    match: {any: [treaty, accord]}\n",
        encoding="utf-8",
    )
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = CliRunner(env=env).invoke(cli, ["rules", "check", str(rules)])
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "cache" / "treaty-monitor").glob("*.hsdb"))
    assert user_cache_dir() != tmp_path / "cache" / "treaty-monitor"  # the test's env only


def test_a_one_shot_command_also_caches_the_guards_cue_scan(tmp_path: Path) -> None:
    """The guards' cue scan is compiled once per machine, not at every command's start: a
    second process finds both databases (the rule set's and the cues') and writes nothing."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "monitor", "rules", "check", str(ROOT / "rules")]
    subprocess.run(command, env=env, check=True, capture_output=True)
    cache = tmp_path / "treaty-monitor"
    written = _files(cache)
    assert len([name for name in written if name.endswith(".hsdb")]) == 2
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert _files(cache) == written
