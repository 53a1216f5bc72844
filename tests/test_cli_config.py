"""Configuration and command-line errors: one clear message, exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_settings, parse_duration
from monitor.errors import ConfigError


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[fetch]\ninterval = "5 parsecs"\n', ":2: fetch.interval: Value error, invalid duration"),
        ("[fetch\n", "Expected ']'"),
        ('[[feeds]]\nname = "x"\nurl = "gopher://h/"\n', ":3: feeds.0.url: Value error, only http"),
        ('[redis]\nurl = "http://h"\n', ":2: redis.url: Value error, must start with redis://"),
        ("[fetch]\ncolour = 1\n", ":2: fetch.colour: unknown key 'colour' in [fetch]"),
        (
            '[[subscriptions]]\nname = "a"\nchannels = ["t"]\nsink = "nope"\n',
            "uses unknown sink 'nope'",
        ),
        (
            '[[sinks]]\nname = "s"\ntype = "slack"\n',
            "a slack sink needs webhook_url or webhook_url_env",
        ),
    ],
)
def test_a_bad_config_file_exits_2_naming_file_line_and_field(
    tmp_path: Path, toml: str, expected: str
) -> None:
    """Each invalid config yields exit code 2 and a message pointing at the problem."""
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    result = _cli("run", "--config", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_config_file_exits_2() -> None:
    """A config path that does not exist is a config error, not a crash."""
    result = _cli("run", "--config", "/nonexistent/treaty.toml")
    assert result.returncode == 2
    assert "cannot read config" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_command_line_argument_exits_2() -> None:
    """click's usage errors keep exit code 2."""
    result = _cli("run", "--role", "bogus")
    assert result.returncode == 2
    assert "Invalid value for '--role'" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["match"],
        ["rules", "check"],
        ["rules", "test"],
        ["rules", "backtest"],
        ["rules", "evaluate"],
        ["subscribe"],
        ["feeds"],
        ["dlq", "list"],
        ["status"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    """--help works on every command and exits 0."""
    result = _cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TREATY_MONITOR_<SECTION>__<KEY> beats the TOML file."""
    config = tmp_path / "c.toml"
    config.write_text('[fetch]\ninterval = "5m"\n[redis]\nprefix = "file"\n')
    monkeypatch.setenv("TREATY_MONITOR_REDIS__PREFIX", "env")
    settings = load_settings(config)
    assert settings.redis.prefix == "env"
    assert settings.fetch.interval == 300.0


def test_the_config_file_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TREATY_MONITOR_CONFIG names the file when --config is absent."""
    config = tmp_path / "c.toml"
    config.write_text('state_dir = "elsewhere"\n')
    monkeypatch.setenv("TREATY_MONITOR_CONFIG", str(config))
    assert load_settings().resolve(load_settings().state_dir) == tmp_path / "elsewhere"


def test_relative_feed_paths_resolve_next_to_the_config(tmp_path: Path) -> None:
    """A bare path feed becomes a file:// URL relative to the config file."""
    config = tmp_path / "c.toml"
    config.write_text('[[feeds]]\nname = "local"\nurl = "feeds/a.xml"\n')
    settings = load_settings(config)
    assert settings.feed_url(settings.feeds[0]) == (tmp_path / "feeds" / "a.xml").as_uri()


def test_secrets_are_hidden_in_the_settings_repr(tmp_path: Path) -> None:
    """A webhook URL in the config never shows in a printed settings object."""
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sinks]]\nname = "s"\ntype = "slack"\nwebhook_url = "https://hooks.example/SECRET"\n'
    )
    settings = load_settings(config)
    assert "SECRET" not in repr(settings)
    assert "SECRET" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30.0),
        (2.5, 2.5),
        ("45", 45.0),
        ("30s", 30.0),
        (" 30 s ", 30.0),
        ("15m", 900.0),
        ("6h", 21600.0),
        ("2.5h", 9000.0),
        ("2d", 172800.0),
        ("250ms", 0.25),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("1d12h", 129600.0),
        ("2w3d", 1468800.0),
        ("1m30s500ms", 90.5),
    ],
)
def test_durations_parse_to_seconds(value: object, seconds: float) -> None:
    """Durations accept bare seconds, unit suffixes and compounds such as 1h30m."""
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "5 parsecs", "h", "1x", "-5m", "30m1h", "1h1h", "1h30", True, None, [1]]
)
def test_malformed_durations_are_rejected(value: object) -> None:
    """Unknown units, a trailing bare number, units out of order or repeated are errors."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_an_error_from_an_environment_override_names_the_variable(tmp_path: Path) -> None:
    """A bad value set by TREATY_MONITOR_FETCH__INTERVAL is blamed on it, not on a file line."""
    config = tmp_path / "c.toml"
    config.write_text('[fetch]\ninterval = "5m"\n')
    env = {**os.environ, "TREATY_MONITOR_FETCH__INTERVAL": "5 parsecs"}
    result = _cli("run", "--config", str(config), env=env)
    assert result.returncode == 2
    assert "environment variable TREATY_MONITOR_FETCH__INTERVAL: fetch.interval:" in result.stderr
    assert f"{config}:2:" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_key_in_an_environment_variable_names_it_and_suggests_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TREATY_MONITOR_FETCH__INTERVALL is blamed by name, with the key it probably meant."""
    monkeypatch.setenv("TREATY_MONITOR_FETCH__INTERVALL", "5m")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert (
        "environment variable TREATY_MONITOR_FETCH__INTERVALL: fetch.intervall: unknown key "
        "'intervall' in [fetch]; did you mean 'interval'?"
    ) in str(caught.value)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[redis]\nprefix = "x"\n\n[fetch]\njitter = 0.2\nintervall = "5m"\n',
            ":6: fetch.intervall: unknown key 'intervall' in [fetch]; did you mean 'interval'?",
        ),
        (
            '[[sinks]]\nname = "s"\ntype = "console"\ncolour = "never"\n',
            ":4: sinks.0.colour: unknown key 'colour' in [[sinks]] #1; did you mean 'color'?",
        ),
        ('stat_dir = "s"\n', "unknown key 'stat_dir' at the top level; did you mean 'state_dir'?"),
        ("[fetch]\nzzz = 1\n", ":2: fetch.zzz: unknown key 'zzz' in [fetch]\n"),
    ],
)
def test_an_unknown_key_suggests_the_nearest_known_one(
    tmp_path: Path, toml: str, expected: str
) -> None:
    """A misspelt key is reported with its line and the closest valid key of its section."""
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert expected in str(caught.value) + "\n"


def test_the_shipped_example_config_is_valid(repo_root: Path) -> None:
    """config.example.toml loads and names the bundled sample feed."""
    settings = load_settings(repo_root / "config.example.toml")
    assert [f.name for f in settings.feeds] == ["sample"]
    assert settings.feed_url(settings.feeds[0]).endswith("examples/sample-feed.xml")
    assert settings.subscriptions


def test_a_config_error_is_a_config_error(tmp_path: Path) -> None:
    """load_settings raises ConfigError, the CLI's exit-2 error."""
    config = tmp_path / "c.toml"
    config.write_text("state_dir = 3\n")
    with pytest.raises(ConfigError, match="state_dir"):
        load_settings(config)


def test_one_shot_commands_print_their_answer_without_info_logs(tmp_path: Path) -> None:
    """``status`` on the embedded Redis: the report on stdout, nothing on stderr (the embedded
    server starting and stopping is info the user did not ask for); the daemon still logs it."""
    config = tmp_path / "config.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[log]\nformat = "json"\n')
    result = _cli("status", "--format", "json", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert '"dead_letters": 0' in result.stdout
