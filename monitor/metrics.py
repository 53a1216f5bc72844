"""Prometheus metrics of every stage, in one registry passed to the HTTP endpoint.

Stages count through these module-level objects (prometheus-client's own idiom); label values are
bounded sets (feed names from the config, rule ids, sink names, error classes) — never a value
that grows without bound, such as a rule-set version. No counter shares its family name (the name
without ``_total``) with a gauge: OpenMetrics scrapers would see one family twice.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
# Resident memory, CPU seconds and open file descriptors of this process (process_* metrics).
ProcessCollector(registry=REGISTRY)

FETCHES = Counter(
    "treaty_monitor_fetches_total",
    "Feed fetches by outcome",
    ["feed", "outcome"],
    registry=REGISTRY,
)
FETCH_ERRORS = Counter(
    "treaty_monitor_fetch_errors_total", "Feed fetch errors by class", ["feed", "kind"],
    registry=REGISTRY,
)  # fmt: skip
# Up to the longest fetch.timeout the config accepts (FETCH_TIMEOUT_MAX), so slow fetches land
# in a bucket of their own rather than all in +Inf.
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
FETCH_SECONDS = Histogram(
    "treaty_monitor_fetch_seconds", "Wall time of one fetch", buckets=FETCH_BUCKETS,
    registry=REGISTRY,
)  # fmt: skip
ENTRIES_NEW = Counter(
    "treaty_monitor_entries_total", "New entries published", ["feed"], registry=REGISTRY
)
FEED_LAST_SUCCESS = Gauge(
    "treaty_monitor_feed_last_success_timestamp_seconds", "Last successful fetch", ["feed"],
    registry=REGISTRY,
)  # fmt: skip
ENTRIES_EVALUATED = Counter(
    "treaty_monitor_entries_evaluated_total", "Entries run through the rules", registry=REGISTRY
)
MATCHES = Counter("treaty_monitor_matches_total", "Rule matches", ["rule"], registry=REGISTRY)
ALERTS_PUBLISHED = Counter(
    "treaty_monitor_alerts_published_total", "Alerts added to channel streams", ["channel"],
    registry=REGISTRY,
)  # fmt: skip
ALERTS_THROTTLED = Counter(
    "treaty_monitor_alerts_throttled_total", "Matches held back by a realert window", ["rule"],
    registry=REGISTRY,
)  # fmt: skip
DELIVERIES = Counter(
    "treaty_monitor_deliveries_total", "Alert deliveries by sink and outcome",
    ["sink", "outcome"], registry=REGISTRY,
)  # fmt: skip
# Not "dead_letters_total": the gauge treaty_monitor_dead_letters (stream length) owns that family.
DEAD_LETTERS = Counter(
    "treaty_monitor_dead_lettered_total", "Alerts this process moved to the dead-letter stream",
    ["sink"], registry=REGISTRY,
)  # fmt: skip
RULES_LOADED = Gauge(
    "treaty_monitor_rules_loaded", "Rules in the running rule set", registry=REGISTRY
)
RULES_RELOAD_ERRORS = Counter(
    "treaty_monitor_rules_reload_errors_total", "Rejected rule reloads", registry=REGISTRY
)
RULES_RELOADS = Counter(
    "treaty_monitor_rules_reloads_total", "Rule set (re)loads by outcome (ok, error)",
    ["outcome"], registry=REGISTRY,
)  # fmt: skip
SIGNALS = Counter(
    "treaty_monitor_signals_total", "Signals handled by the daemon", ["signal"], registry=REGISTRY
)
