"""treaty-monitor: an event-driven news monitor that alerts on treaty developments."""

__version__ = "0.1.0"
