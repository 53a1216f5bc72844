"""Hot reload: watch the rule directories and swap in a new set only when all of it is valid.

Loading and compiling run in a worker thread (``asyncio.to_thread``), never on the event loop:
a 50,000-term file takes seconds to compile, and the loop must keep answering ``/healthz`` and
evaluating entries with the old set meanwhile. Hyperscan's compile releases the GIL; the Python
part (YAML, one ``re`` per term) shares it, so the loop is slowed, not stopped; the cycle
collector is paused meanwhile (its full collections would stop the loop for tenths of a second).
Reloads run one at a time; a request that arrives while one is waiting to start is folded in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import structlog
import watchfiles

from monitor.rules.engine import RuleSet
from monitor.rules.loader import SUFFIXES, RuleSetError, load_rule_set

log = structlog.get_logger(__name__)


class RuleWatcher:
    """Reloads the rule set on file changes (and on :meth:`reload`, e.g. from SIGHUP).

    ``on_reload`` receives each new valid set whose content differs from the last one;
    ``on_error`` receives the errors of an invalid set, and the caller keeps its old set;
    ``on_recover`` is called when a valid set follows a failed one but has the running version
    (the files were put back): the reload error no longer holds. ``on_compiling`` is told when a
    compile starts (``True``) and ends (``False``). With ``cache_dir`` compiled scans are kept
    there, as at start (a reload back to an earlier set then reads it instead of compiling).
    With ``prepare`` a new set arrives with every pattern built (:meth:`RuleSet.prepare`), for a
    process that matches with it: none of its matches on the loop then compiles one.
    """

    def __init__(
        self,
        dirs: Sequence[Path],
        on_reload: Callable[[RuleSet], None],
        on_error: Callable[[RuleSetError], None],
        *,
        on_recover: Callable[[], None] = lambda: None,
        on_compiling: Callable[[bool], None] = lambda _busy: None,
        current: RuleSet | None = None,
        debounce_ms: int = 200,
        cache_dir: Path | None = None,
        prepare: bool = False,
    ) -> None:
        self.dirs = tuple(dirs)
        self.prepare = prepare
        self.on_reload = on_reload
        self.on_error = on_error
        self.on_recover = on_recover
        self.on_compiling = on_compiling
        self.version = current.version if current is not None else None
        self.failed = False
        self.debounce_ms = debounce_ms
        # Engine worker processes reload the set the daemon has just compiled: from its cache.
        self.cache_dir = cache_dir
        self._lock = asyncio.Lock()
        self._waiting = 0

    async def reload(self) -> RuleSet | None:
        """Load the set now, off the loop: the loaded set if valid (swapped in when it changed).

        ``None`` when the set is invalid, or when this request was folded into a reload that
        was already waiting to start (that one reads the files after this request was made).
        """
        if self._waiting:
            return None
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            self.on_compiling(True)
            started = time.perf_counter()
            try:
                with _cycle_collector_paused():
                    loaded = await asyncio.to_thread(_load, self.dirs, self.cache_dir, self.prepare)
            finally:
                self.on_compiling(False)
            applied = self._apply(loaded, time.perf_counter() - started)
            # The set replaced (and the compile's scratch) were freed; glibc keeps such pages
            # unless asked, and a large set leaves tens of MB behind. ctypes drops the GIL.
            await asyncio.to_thread(_malloc_trim)
            return applied
        finally:
            self._lock.release()

    def _apply(self, loaded: RuleSet | RuleSetError, seconds: float) -> RuleSet | None:
        took = round(seconds, 3)
        if isinstance(loaded, RuleSetError):
            self.failed = True
            log.error(
                "rules_reload_failed",
                errors=[e.location_message() for e in loaded.errors[:20]],
                error_count=len(loaded.errors),
                kept_version=self.version,
                seconds=took,
            )
            self.on_error(loaded)
            return None
        recovered, self.failed = self.failed, False
        if loaded.version != self.version:
            log.info(
                "rules_reloaded", version=loaded.version, rules=len(loaded.rules), seconds=took
            )
            self.version = loaded.version
            self.on_reload(loaded)
        elif recovered:
            log.info("rules_reload_recovered", version=loaded.version, seconds=took)
            self.on_recover()
        else:
            log.info("rules_reload_unchanged", version=loaded.version, seconds=took)
        return loaded

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the directories until ``stop`` is set; reload after each batch of changes."""
        paths = [p for p in self.dirs if p.exists()]
        if not paths:
            log.warning("rules_watch_nothing", dirs=[str(p) for p in self.dirs])
            await stop.wait()
            return
        async for _changes in watchfiles.awatch(
            *paths,
            watch_filter=_is_rule_file,
            stop_event=stop,
            debounce=self.debounce_ms,
            step=50,
            recursive=False,
        ):
            await self.reload()


@contextlib.contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a set compiles.

    A compile creates objects by the hundred thousand, and every 25 % of heap growth triggers a
    full collection; each holds the GIL (and so stops the event loop) for 0.1–0.7 s with a
    50,000-term file. Reference counting still frees everything acyclic meanwhile.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _malloc_trim() -> None:
    """Return free heap pages to the OS (glibc's ``malloc_trim``; nothing elsewhere)."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _load(dirs: Sequence[Path], cache_dir: Path | None, prepare: bool) -> RuleSet | RuleSetError:
    try:
        loaded = load_rule_set(dirs, allow_empty=True, cache_dir=cache_dir)
        return loaded.prepare() if prepare else loaded
    except RuleSetError as exc:
        # Only the message travels back: the traceback would keep the parsed files alive.
        return exc.with_traceback(None)


def _is_rule_file(_change: watchfiles.Change, path: str) -> bool:
    name = Path(path).name
    return name.endswith(SUFFIXES) and not name.startswith(".")
