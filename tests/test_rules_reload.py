"""Hot reload: a valid edit swaps the set in, an invalid one keeps the old set and reports."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.rules.engine import RuleSet
from monitor.rules.loader import RuleSetError, load_rule_set
from monitor.rules.reload import RuleWatcher
from tests.rules_helpers import entry, write

VALID = """\
version: 1
rules:
  - id: r
    title: Treaty
    severity: low
    channels: [treaties]
    match: {term}
"""


class Recorder:
    """Collects what the watcher hands over, and wakes a waiting test."""

    def __init__(self) -> None:
        self.sets: list[RuleSet] = []
        self.errors: list[RuleSetError] = []
        self.event = asyncio.Event()

    def on_reload(self, rule_set: RuleSet) -> None:
        self.sets.append(rule_set)
        self.event.set()

    def on_error(self, error: RuleSetError) -> None:
        self.errors.append(error)
        self.event.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.event.wait(), timeout=20)
        self.event.clear()


def test_reload_swaps_in_a_valid_set_and_keeps_the_old_one_on_errors(tmp_path: Path) -> None:
    """A valid change is handed over; an invalid one is reported with file and line."""
    write(tmp_path, VALID.format(term="treaty"))
    current = load_rule_set([tmp_path])
    recorder = Recorder()
    watcher = RuleWatcher([tmp_path], recorder.on_reload, recorder.on_error, current=current)

    assert watcher.reload() is not None
    assert recorder.sets == []  # unchanged content is not a new set

    write(tmp_path, VALID.format(term="accord"))
    new = watcher.reload()
    assert new is not None
    assert recorder.sets == [new]
    assert [m.rule_id for m in new.match(entry(title="peace accord"))] == ["r"]

    write(tmp_path, VALID.format(term="accord").replace("severity: low", "severity: huge"))
    assert watcher.reload() is None
    assert recorder.sets == [new]
    (error,) = recorder.errors
    assert error.errors[0].file.endswith("rules.yaml")
    assert (error.errors[0].line, error.errors[0].column) == (5, 15)


async def test_the_watcher_reloads_when_a_rule_file_changes(tmp_path: Path) -> None:
    """Editing a file under watch triggers a reload without a signal."""
    write(tmp_path, VALID.format(term="treaty"))
    recorder = Recorder()
    watcher = RuleWatcher(
        [tmp_path],
        recorder.on_reload,
        recorder.on_error,
        current=load_rule_set([tmp_path]),
        debounce_ms=50,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        await asyncio.sleep(0.3)  # let the watcher start
        write(tmp_path, VALID.format(term="accord"))
        await recorder.wait()
        (swapped,) = recorder.sets
        assert swapped.match(entry(title="accord"))
        assert not swapped.match(entry(title="treaty"))

        write(tmp_path, "version: 1\nrules: [\n")
        await recorder.wait()
        assert len(recorder.errors) == 1
        assert len(recorder.sets) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
