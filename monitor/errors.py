"""The one exception tree of treaty-monitor.

    MonitorError
    ├── ConfigError              bad config file or environment (CLI exit 2)
    ├── RuleError                bad rule file: carries file, line, column (CLI exit 1)
    ├── FetchError               a feed could not be fetched
    │   ├── RetryableFetchError  timeouts, 5xx, 429, refused connections: try again later
    │   └── PermanentFetchError  4xx, refused by policy (private address, scheme), too large
    ├── ParseError               the body is not a feed we can read
    ├── FeedListError            an OPML feed list cannot be imported: names file and line
    ├── DeliveryError            a sink did not accept an alert
    │   ├── RetryableDelivery    5xx, 429 (with retry_after), timeouts, SMTP 4xx
    │   └── PermanentDelivery    4xx other than 429, SMTP 5xx: dead letter at once
    └── StoreError               Redis is unusable for us (e.g. an evicting maxmemory-policy)

Library errors are translated where they enter (``raise FetchError(...) from exc``).
"""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error treaty-monitor raises on purpose."""


class ConfigError(MonitorError):
    """The configuration (file, environment or CLI) is invalid."""


class RuleError(MonitorError):
    """A rule file is invalid; ``str()`` reads ``file:line:col: message``."""

    def __init__(self, message: str, *, file: str = "", line: int = 0, column: int = 0) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(self.location_message())

    def location_message(self) -> str:
        """Render as ``file:line:col: message`` (parts that are unknown are left out)."""
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.message}" if where else self.message


class FetchError(MonitorError):
    """A feed could not be fetched."""

    kind = "fetch"


class RetryableFetchError(FetchError):
    """A fetch failure that may succeed later; ``retry_after`` in seconds when the server said."""

    def __init__(self, message: str, *, kind: str = "network", retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class PermanentFetchError(FetchError):
    """A fetch failure that will not fix itself (4xx, policy refusal, oversize)."""

    def __init__(self, message: str, *, kind: str = "http"):
        super().__init__(message)
        self.kind = kind


class ParseError(MonitorError):
    """The body is not a feed we can read."""


class FeedListError(MonitorError):
    """An OPML feed list is unreadable or holds no feeds; the message names file and line."""


class DeliveryError(MonitorError):
    """A sink did not accept an alert."""


class RetryableDelivery(DeliveryError):
    """The sink may accept later; ``retry_after`` in seconds when the service said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDelivery(DeliveryError):
    """The sink will never accept this alert: dead-letter it at once."""


class StoreError(MonitorError):
    """Redis is unusable for treaty-monitor."""
