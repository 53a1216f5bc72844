"""SIGTERM and SIGINT that reach the daemon while it is still starting.

Under load the daemon takes seconds to import, load rules and reach Redis before its event loop
installs its own handlers; the default action of SIGTERM meanwhile killed it outright (exit -15,
after a restart with nothing in its log). :func:`catch` is called first thing by the CLI for
``run``: a signal is then only remembered, and :func:`requested` tells the loop to stop at once.
Kept free of imports so it can run before everything else.
"""

from __future__ import annotations

import signal

_requested: list[int] = []


def catch() -> None:
    """Remember SIGTERM and SIGINT from now on instead of dying of them."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: _requested.append(number))


def requested() -> bool:
    """A stop was asked for since :func:`catch`."""
    return bool(_requested)
