"""Which alerts a subscription wants: severity floor, tags, feeds. Pure."""

from __future__ import annotations

from monitor.alerts.alert import Alert
from monitor.config import SubscriptionSettings
from monitor.rules.match import Severity


def accepts(subscription: SubscriptionSettings, alert: Alert) -> bool:
    """True when the alert passes every filter the subscription sets (unset filters pass)."""
    if alert.severity < Severity.parse(subscription.min_severity):
        return False
    if subscription.tags and not set(subscription.tags) & set(alert.tags):
        return False
    return not subscription.feeds or alert.entry.feed in subscription.feeds
