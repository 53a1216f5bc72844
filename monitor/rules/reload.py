"""Hot reload: watch the rule directories and swap in a new set only when all of it is valid."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
import watchfiles

from monitor.rules.engine import RuleSet
from monitor.rules.loader import SUFFIXES, RuleSetError, load_rule_set

log = structlog.get_logger(__name__)


class RuleWatcher:
    """Reloads the rule set on file changes (and on :meth:`reload`, e.g. from SIGHUP).

    ``on_reload`` receives each new valid set whose content differs from the last one;
    ``on_error`` receives the errors of an invalid set, and the caller keeps its old set.
    """

    def __init__(
        self,
        dirs: Sequence[Path],
        on_reload: Callable[[RuleSet], None],
        on_error: Callable[[RuleSetError], None],
        *,
        current: RuleSet | None = None,
        debounce_ms: int = 200,
    ) -> None:
        self.dirs = tuple(dirs)
        self.on_reload = on_reload
        self.on_error = on_error
        self.version = current.version if current is not None else None
        self.debounce_ms = debounce_ms

    def reload(self) -> RuleSet | None:
        """Load the set now: the new set if valid (swapped in when it changed), else ``None``."""
        return self._apply(_load(self.dirs))

    def _apply(self, loaded: RuleSet | RuleSetError) -> RuleSet | None:
        if isinstance(loaded, RuleSetError):
            log.error(
                "rules_reload_failed",
                errors=[e.location_message() for e in loaded.errors[:20]],
                error_count=len(loaded.errors),
            )
            self.on_error(loaded)
            return None
        if loaded.version != self.version:
            log.info("rules_reloaded", version=loaded.version, rules=len(loaded.rules))
            self.version = loaded.version
            self.on_reload(loaded)
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
            # Compile off the loop; hand the result over on the loop, where callers live.
            self._apply(await asyncio.to_thread(_load, self.dirs))


def _load(dirs: Sequence[Path]) -> RuleSet | RuleSetError:
    try:
        return load_rule_set(dirs, allow_empty=True)
    except RuleSetError as exc:
        return exc


def _is_rule_file(_change: watchfiles.Change, path: str) -> bool:
    name = Path(path).name
    return name.endswith(SUFFIXES) and not name.startswith(".")
