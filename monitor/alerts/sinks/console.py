"""The console sink: readable alert blocks on stdout, coloured only on a terminal (NO_COLOR off)."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.alerts.alert import Alert
from monitor.alerts.followups import followup_line
from monitor.alerts.render import Digest, console_digest, console_text
from monitor.alerts.threads import Followup
from monitor.errors import RetryableDelivery
from monitor.logs import colour_wanted


class ConsoleSink:
    """Prints each alert; ``colour`` is ``auto`` (only on a TTY), ``always`` or ``never``."""

    def __init__(self, name: str, *, colour: str = "auto", stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream
        self._colour = colour

    @property
    def stream(self) -> TextIO:
        """Where lines go (stdout unless given): looked up late so redirection works."""
        return self._stream if self._stream is not None else sys.stdout

    def _use_colour(self) -> bool:
        return colour_wanted(self.stream, self._colour)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n\n")
            self.stream.flush()
        except OSError as exc:
            raise RetryableDelivery(f"console: cannot write: {exc}") from exc

    async def send(self, alert: Alert) -> None:
        """Print one alert."""
        self._write(console_text(alert, colour=self._use_colour()))

    async def send_followup(self, followup: Followup) -> None:
        """Print a story's follow-up or reminder as one line."""
        line = followup_line(followup)
        if self._use_colour():
            line = f"\x1b[2m{line}\x1b[0m"
        self._write(line)

    async def send_digest(self, digest: Digest) -> None:
        """Print a digest."""
        self._write(console_digest(digest, colour=self._use_colour()))

    async def aclose(self) -> None:
        """Nothing to release."""
