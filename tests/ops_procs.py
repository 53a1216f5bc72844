"""Daemon processes for the scale-out and soak tests: config files, start, stop, kill, measure."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.ops_servers import free_port

RULE_FILE = """\
version: 1
rules:
  - id: ops-accord
    title: Zorvath Accord development
    severity: high
    channels: [ops]
    match: Zorvath Accord
"""

MATCHING = "Parliament debates the Zorvath Accord, vote {n} of {feed}"
NOT_MATCHING = "Harbour authority publishes tide tables, issue {n} of {feed}"


@dataclass(frozen=True)
class Sink:
    """One sink and the subscription of channel ``ops`` that uses it (TOML fragments)."""

    name: str
    toml: str


def webhook_sink(name: str, url: str) -> Sink:
    """A webhook sink."""
    return Sink(name, f'[[sinks]]\nname = "{name}"\ntype = "webhook"\nurl = "{url}"\n')


def slack_sink(name: str, url: str) -> Sink:
    """A Slack sink, fast enough for tests."""
    return Sink(
        name,
        f'[[sinks]]\nname = "{name}"\ntype = "slack"\nwebhook_url = "{url}"\n'
        "rate_per_second = 200.0\n",
    )


def email_sink(name: str, port: int) -> Sink:
    """An email sink to a local SMTP server."""
    return Sink(
        name,
        f'[[sinks]]\nname = "{name}"\ntype = "email"\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {port}\nrecipients = ["desk@example.org"]\n',
    )


def write_test_rule(directory: Path) -> Path:
    """The one test rule in ``directory/rules`` (returned)."""
    rules = directory / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "ops.yaml").write_text(RULE_FILE)
    return rules


def config_head(directory: Path, *, redis_url: str, prefix: str) -> list[str]:
    """The state directory, Redis and JSON log tables every test daemon's config starts with."""
    return [
        f'state_dir = "{directory / "state"}"',
        f'[redis]\nurl = "{redis_url}"\nprefix = "{prefix}"',
        '[log]\nformat = "json"\nlevel = "info"',
    ]


def write_config(
    directory: Path,
    *,
    redis_url: str,
    prefix: str,
    feeds: dict[str, str],
    sinks: list[Sink],
    interval: float = 2.0,
    claim_idle: float = 3.0,
) -> Path:
    """A config for the daemon under test: local feeds, one test rule, one subscription per sink."""
    rules = write_test_rule(directory)
    parts = [
        *config_head(directory, redis_url=redis_url, prefix=prefix),
        # Short fetch and parse deadlines keep the lease of a poll in progress short, which is
        # how long a feed waits after its fetcher was killed mid-poll. Every feed is on the one
        # test server, standing in for many hosts: no per-host limit below the global one.
        f"[fetch]\ninterval = {interval}\njitter = 0.0\ntimeout = 5\nparse_timeout = 3\n"
        "concurrency = 50\nper_host_concurrency = 50\nallow_private_networks = true",
        f'[rules]\ndirs = ["{rules}"]\nwatch = false',
        f"[delivery]\nmax_attempts = 50\nbackoff_base = 0.2\nbackoff_max = 2\n"
        f"claim_idle = {claim_idle}\ngroup_window = 0",
    ]
    parts += [f'[[feeds]]\nname = "{name}"\nurl = "{url}"' for name, url in feeds.items()]
    parts += [sink.toml for sink in sinks]
    parts += [
        f'[[subscriptions]]\nname = "sub-{s.name}"\nchannels = ["ops"]\nsink = "{s.name}"'
        for s in sinks
    ]
    path = directory / "config.toml"
    path.write_text("\n\n".join(parts) + "\n")
    return path


@dataclass
class Daemon:
    """One ``python -m monitor run --role ROLE`` process with its own metrics port."""

    role: str
    config: Path | None  # None: run without a config file
    log_dir: Path
    name: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None  # None: the test's own working directory

    @property
    def url(self) -> str:
        """Base URL of its health endpoint."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (logs appended to ``<log_dir>/<name>.log``)."""
        env = {**os.environ, "TREATY_MONITOR_HTTP__LISTEN": f"127.0.0.1:{self.port}"}
        env.pop("NOTIFY_SOCKET", None)
        env.update(self.extra_env)
        self.starts += 1
        config = ["--config", str(self.config)] if self.config else []
        with (self.log_dir / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--role", self.role,
                 *config, "--log-format", "json"],
                stdout=log, stderr=log, env=env, start_new_session=True, cwd=self.cwd,
            )  # fmt: skip

    async def wait_ready(self, within: float = 60.0) -> None:
        """Wait until ``/readyz`` answers 200; fail with the log tail otherwise.

        An engine daemon is ready once its worker processes run, each a fresh interpreter
        loading the rules: seconds more on a loaded machine.
        """
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    break
                try:
                    async with session.get(self.url + "/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not ready:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the process's log."""
        path = self.log_dir / f"{self.name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.name} ignored SIGTERM:\n{self.log_tail()}") from None

    async def astop(self, within: float = 30.0) -> int:
        """:meth:`stop` without blocking the event loop (the local servers live on it)."""
        return await asyncio.to_thread(self.stop, within)

    def kill(self) -> None:
        """SIGKILL: a crash, nothing handed back."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def rss_bytes(self) -> int:
        """Resident set size of the process, from /proc."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kb) * 1024

    async def metrics_text(self) -> str:
        """This process's ``/metrics`` exposition."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url + "/metrics") as response,
        ):
            return await response.text()

    async def metric(self, name: str) -> float:
        """Sum of every sample of one metric on this process's ``/metrics``."""
        text = await self.metrics_text()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name
        )
