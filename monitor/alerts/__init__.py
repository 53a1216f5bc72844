"""Alerts out: the alert model, rendering, subscriptions, the notifier loop and its sinks."""
