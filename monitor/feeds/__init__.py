"""Feeds in: fetch over HTTP, parse bytes into entries, schedule, remember what was seen."""
