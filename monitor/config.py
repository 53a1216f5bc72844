"""Settings: one TOML file plus environment overrides, validated once and passed down.

Environment variables override the file: ``TREATY_MONITOR_<SECTION>__<KEY>`` (for example
``TREATY_MONITOR_REDIS__URL``). Secrets (webhook URLs, SMTP passwords) are ``SecretStr`` and may
instead be read from a named environment variable (``webhook_url_env``, ``password_env``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.config_errors import format_validation_error
from monitor.durations import parse_duration as parse_duration  # re-exported
from monitor.errors import ConfigError
from monitor.feeds.language import normalise_language
from monitor.shipped import shipped_rules_dir

CONFIG_ENV = "TREATY_MONITOR_CONFIG"
# The longest a fetch may take; the fetch_seconds histogram's buckets reach it.
FETCH_TIMEOUT_MAX = 300.0
_NAME = r"^[a-z0-9][a-z0-9_.-]*$"


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


REDIS_MAX_CONNECTIONS = 256


class RedisSettings(_Section):
    """Where Redis is: embedded (no url) or a server."""

    url: SecretStr | None = None
    prefix: str = Field(default="tm", pattern=r"^[A-Za-z0-9_.:-]+$")
    sentinels: tuple[str, ...] = ()  # "host:port" of each Sentinel; then url is not used
    sentinel_service: str = "mymaster"
    password: SecretStr | None = None  # the Redis server's password when using Sentinel
    sentinel_password: SecretStr | None = None  # the Sentinels' own password, if they have one
    entries_maxlen: int = Field(default=100_000, ge=1000)
    alerts_maxlen: int = Field(default=100_000, ge=1000)
    # Per process; a command finding them all busy waits for one (up to 30 s) rather than failing.
    max_connections: int = Field(default=REDIS_MAX_CONNECTIONS, ge=8)
    # The daemon retries an unreachable Redis at start (with backoff) this long before exiting 1.
    startup_wait: Duration = 60.0
    # How often the daemon re-checks that Redis will not evict (CONFIG SET can change that).
    policy_check: Duration = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


class LogSettings(_Section):
    """How logs look."""

    format: Literal["auto", "console", "json"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"
    # The daemon's "what I did" line (feeds polled, new entries, alerts); 0 turns it off.
    activity_every: Duration = 60.0


def _redirect_host(value: str) -> str:
    from monitor.feeds import netpolicy  # imports aiohttp: only when a host is listed

    host, _port = netpolicy.parse_endpoint(value)
    addr = netpolicy.literal_address(host)
    if netpolicy.is_metadata_name(host) or (addr is not None and netpolicy.is_metadata(addr)):
        raise ValueError(f"{value!r} is a link-local or cloud-metadata address, always refused")
    return value


RedirectHost = Annotated[str, AfterValidator(_redirect_host)]


class FetchSettings(_Section):
    """Defaults and hard limits for every fetch."""

    interval: Duration = 300.0
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    timeout: Annotated[Duration, Field(le=FETCH_TIMEOUT_MAX)] = 30.0
    connect_timeout: Duration = 10.0
    max_bytes: int = Field(default=10_000_000, ge=1024)
    max_items: int = Field(default=500, ge=1)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=20, ge=1, le=1000)
    per_host_concurrency: int = Field(default=4, ge=1, le=1000)
    allow_private_networks: bool = False
    # Hosts ("host" or "host:port") that redirects from a feed on a private address may reach
    # besides that feed's own host; link-local and metadata addresses stay refused.
    private_redirect_hosts: tuple[RedirectHost, ...] = ()
    contact: str = ""
    backoff_max: Duration = 6 * 3600.0
    cache_max: Duration = 3600.0
    parse_workers: int = Field(default=2, ge=1, le=64)
    parse_timeout: Duration = 20.0
    parse_memory_mb: int = Field(default=1024, ge=128)
    # Language of entries the feed gives none: fast (lingua's low-accuracy mode on short text),
    # accurate (~250 MB more per parse worker), off.
    language_detection: Literal["fast", "accurate", "off"] = "fast"
    seen_retention: Duration = Field(default=90 * 86400.0, ge=86400.0)


class FeedSettings(_Section):
    """One feed to watch."""

    name: str = Field(pattern=_NAME)
    url: str
    interval: Duration | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    language: str = ""  # ISO 639-1 ("en-US" is kept as "en"); beats the document and detection
    # More hosts this feed's redirects may reach (see fetch.private_redirect_hosts).
    private_redirect_hosts: tuple[RedirectHost, ...] = ()

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        code = normalise_language(value)
        if value.strip() and not code:
            raise ValueError(f"{value!r} is not an ISO 639-1 language code (like en, ru, uk)")
        return code

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if "://" in value and not value.startswith(("http://", "https://", "file://")):
            raise ValueError("only http://, https:// and file:// feeds are supported")
        return value


class RulesSettings(_Section):
    """Where rule files live (no ``dirs``: the shipped rule pack)."""

    dirs: tuple[Path, ...] = ()
    watch: bool = True


class SinkSettings(_Section):
    """A named delivery target; which fields apply depends on ``type``."""

    name: str = Field(pattern=_NAME)
    type: Literal["console", "slack", "email", "webhook", "apprise"]
    # slack / webhook
    webhook_url: SecretStr | None = None
    webhook_url_env: str | None = None
    url: SecretStr | None = None
    url_env: str | None = None
    hmac_secret: SecretStr | None = None
    hmac_secret_env: str | None = None
    # slack with a bot token (chat.postMessage; follow-ups thread under the first message)
    token: SecretStr | None = None
    token_env: str | None = None
    channel: str | None = None
    api_url: str = Field(default="https://slack.com/api", pattern=r"^https?://")
    # Messages per second; unset = the type's default (slack 1, others unpaced).
    rate_per_second: float | None = Field(default=None, gt=0)
    timeout: Duration = 10.0
    # email
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["plain", "starttls", "tls"] = "plain"
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    sender: str = "treaty-monitor@localhost"
    recipients: tuple[str, ...] = ()
    # console
    color: Literal["auto", "always", "never"] = "auto"

    @model_validator(mode="after")
    def _required_per_type(self) -> SinkSettings:
        bot = bool(self.token or self.token_env)
        if self.type == "slack" and not (self.webhook_url or self.webhook_url_env or bot):
            raise ValueError(
                "a slack sink needs webhook_url or webhook_url_env (or token and channel)"
            )
        if self.type == "slack" and bot and not self.channel:
            raise ValueError("a slack sink with a bot token needs channel (a channel id)")
        if self.type in ("webhook", "apprise") and not (self.url or self.url_env):
            raise ValueError(f"a {self.type} sink needs url or url_env")
        if self.type == "email" and not self.recipients:
            raise ValueError("an email sink needs at least one recipient")
        return self

    def pace(self) -> float:
        """Messages per second this sink may send (0 = unpaced)."""
        if self.rate_per_second is not None:
            return self.rate_per_second
        return 1.0 if self.type == "slack" else 0.0

    def secret(self, name: str) -> SecretStr | None:
        """The secret ``name`` from the file, else from the environment variable ``<name>_env``."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value
        env_name: str | None = getattr(self, f"{name}_env")
        if env_name and (env_value := os.environ.get(env_name)):
            return SecretStr(env_value)
        return None


class SubscriptionSettings(_Section):
    """Channels delivered to one sink, optionally filtered."""

    name: str = Field(pattern=_NAME)
    channels: tuple[str, ...] = Field(min_length=1)
    sink: str
    min_severity: Literal["info", "low", "medium", "high", "critical"] = "info"
    tags: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    digest: Duration | None = None
    # Deadline reminders: offsets before a story's due date ("7d", "1d", "0d" = the due day).
    reminders: tuple[str, ...] = ()

    @field_validator("reminders")
    @classmethod
    def _offsets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for offset in value:
            if not isinstance(offset, str):
                raise ValueError(f'reminder {offset!r}: write it as a string such as "7d"')
            parse_duration(offset)
        if len(set(value)) != len(value):
            raise ValueError("reminders: an offset is listed twice")
        return value


class DeliverySettings(_Section):
    """Retries and dead letters."""

    max_attempts: int = Field(default=8, ge=1)
    backoff_base: Duration = 2.0
    backoff_max: Duration = 600.0
    claim_idle: Duration = 60.0
    group_window: Duration = 1800.0
    # How long "already delivered" markers live: longer than any alert can stay pending.
    delivered_ttl: Duration = 7 * 86400.0
    # Copies of one story (channels, outlets) arriving within this hold make one message.
    merge_delay: Duration = 3.0
    # A story's "+N sources" follow-up waits this long after its last message.
    followup_delay: Duration = 300.0
    # On shutdown, how long an in-flight send may finish before it is handed back.
    shutdown_grace: Duration = 5.0
    # Sends in flight at once per subscription. A crash can double at most this many alerts
    # (one per send in flight), so 1 unless throughput matters more than that bound.
    concurrency: int = Field(default=1, ge=1, le=256)
    # How often each notifier process looks for subscriptions created or deleted through the API.
    subscriptions_poll: Duration = Field(default=3.0, gt=0)


class EngineSettings(_Section):
    """How the engine role runs inside one daemon."""

    # Engine worker processes on the one consumer group: 0 = one per core the process may use,
    # 1 = in the daemon's own event loop (no child process).
    workers: int = Field(default=0, ge=0, le=64)


class HistorySettings(_Section):
    """Alert history for the desk and the API: one record per story, indexed for filters."""

    enabled: bool = True
    retention: Duration = 90 * 86400.0


class HttpSettings(_Section):
    """The health and metrics endpoint."""

    listen: str | None = "127.0.0.1:9464"
    # The desk (web pages and /api/v1) on the same endpoint. Open to read on loopback; any other
    # address needs the token, and every write needs it: the name of the variable that holds it.
    desk: bool = True
    token_env: str | None = None


class Settings(BaseSettings):
    """All of treaty-monitor's settings."""

    model_config = SettingsConfigDict(
        env_prefix="TREATY_MONITOR_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    state_dir: Path = Path("state")
    redis: RedisSettings = RedisSettings()
    log: LogSettings = LogSettings()
    fetch: FetchSettings = FetchSettings()
    rules: RulesSettings = RulesSettings()
    engine: EngineSettings = EngineSettings()
    http: HttpSettings = HttpSettings()
    history: HistorySettings = HistorySettings()
    delivery: DeliverySettings = DeliverySettings()
    feeds: tuple[FeedSettings, ...] = ()
    sinks: tuple[SinkSettings, ...] = (SinkSettings(name="console", type="console"),)
    subscriptions: tuple[SubscriptionSettings, ...] = ()
    config_dir: Path = Path()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats the file (the file arrives as init values)."""
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _references(self) -> Settings:
        names = [f.name for f in self.feeds]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"feeds: duplicate feed names {dupes}")
        sinks = {s.name for s in self.sinks}
        for sub in self.subscriptions:
            if sub.sink not in sinks:
                raise ValueError(
                    f"subscriptions: {sub.name!r} uses unknown sink {sub.sink!r} "
                    f"(defined: {sorted(sinks)})"
                )
        subs = [s.name for s in self.subscriptions]
        if dupes := sorted({n for n in subs if subs.count(n) > 1}):
            raise ValueError(f"subscriptions: duplicate names {dupes}")
        return self

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's directory."""
        return path if path.is_absolute() else (self.config_dir / path).resolve()

    def feed_url(self, feed: FeedSettings) -> str:
        """The feed's URL with bare paths turned into ``file://`` URLs next to the config."""
        if "://" in feed.url:
            if feed.url.startswith("file://") and not feed.url.startswith("file:///"):
                return self.resolve(Path(feed.url.removeprefix("file://"))).as_uri()
            return feed.url
        return self.resolve(Path(feed.url)).as_uri()

    def rules_dirs(self) -> tuple[Path, ...]:
        """Rule directories, relative to the config's directory (default: the shipped pack)."""
        if not self.rules.dirs:
            return (shipped_rules_dir(),)
        return tuple(self.resolve(d) for d in self.rules.dirs)

    def sink(self, name: str) -> SinkSettings:
        """The sink named ``name`` (validated to exist)."""
        return next(s for s in self.sinks if s.name == name)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read, validate and return the settings; raises :class:`ConfigError` with file and field."""
    if path is None and (env_path := os.environ.get(CONFIG_ENV)):
        path = Path(env_path)
    data: dict[str, Any] = {}
    text = ""
    config_dir = Path.cwd()
    label = "(defaults)"
    if path is not None:
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: config is not UTF-8: {exc}") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        config_dir = path.resolve().parent
    data.update(overrides)
    data["config_dir"] = config_dir
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(Settings, label, text, exc, os.environ)) from exc
