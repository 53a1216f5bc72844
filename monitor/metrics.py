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
# Engine worker processes (``[engine] workers`` > 1): the daemon serves their counters too.
ENGINE_WORKERS = Gauge(
    "treaty_monitor_engine_workers", "Engine worker processes of this daemon reporting now",
    registry=REGISTRY,
)  # fmt: skip
ENGINE_WORKER_ENTRIES = Counter(
    "treaty_monitor_engine_worker_entries_evaluated_total",
    "Entries run through the rules by each engine worker process of this daemon", ["worker"],
    registry=REGISTRY,
)  # fmt: skip
ENGINE_WORKER_RESTARTS = Counter(
    "treaty_monitor_engine_worker_restarts_total", "Engine worker processes started again after "
    "they ended", ["worker"], registry=REGISTRY,
)  # fmt: skip

# What a worker process counts and hands to its daemon: (family, sorted labels) -> value.
CounterKey = tuple[str, tuple[tuple[str, str], ...]]
CounterValues = dict[CounterKey, float]
ENGINE_COUNTERS = (ENTRIES_EVALUATED, MATCHES, ALERTS_PUBLISHED, ALERTS_THROTTLED)


def _family(counter: Counter) -> str:
    return next(iter(counter.describe())).name


def engine_counters() -> CounterValues:
    """This process's engine counters, as plain values to send to another process."""
    values: CounterValues = {}
    for counter in ENGINE_COUNTERS:
        for family in counter.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    values[(family.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def counts_since(now: CounterValues, before: CounterValues) -> CounterValues:
    """What was counted between two reports of one process (a process new since: all of it)."""
    if any(value < before.get(key, 0.0) for key, value in now.items()):
        before = {}  # a counter went back: a new process
    return {key: value - before.get(key, 0.0) for key, value in now.items()
            if value > before.get(key, 0.0)}  # fmt: skip


def add_counts(counts: CounterValues) -> None:
    """Add another process's engine counts to this process's counters."""
    by_family = {_family(counter): counter for counter in ENGINE_COUNTERS}
    for (family, labels), value in counts.items():
        counter = by_family.get(family)
        if counter is None or value <= 0:
            continue
        if labels:
            counter.labels(**dict(labels)).inc(value)
        else:
            counter.inc(value)


def evaluated(counts: CounterValues) -> float:
    """Entries evaluated, from a set of engine counter values."""
    return counts.get((_family(ENTRIES_EVALUATED), ()), 0.0)
