"""Hot reload: a valid edit swaps the set in, an invalid one keeps the old set and reports."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import signal
import tracemalloc
import weakref
from pathlib import Path

import aiohttp
from structlog.testing import capture_logs

import monitor.rules
import monitor.rules.terms as terms_module
from monitor.rules.engine import RuleSet
from monitor.rules.loader import RuleSetError, load_rule_set
from monitor.rules.reload import RuleWatcher
from monitor.rules.terms import Term
from tests.ops_procs import RULE_FILE, Daemon
from tests.ops_servers import wait_for
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


def big_rule_file(terms: int, seed: int = 0) -> str:
    """One rule over a vocabulary of ``terms`` generated words: seconds to compile."""
    rnd = random.Random(seed)
    syllables = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < terms:
        words.add("".join(rnd.choice(syllables) for _ in range(rnd.randint(3, 5))))
    vocabulary = "".join(f"    - {word}\n" for word in sorted(words))
    return (
        f"version: 1\nvocabularies:\n  big:\n{vocabulary}rules:\n  - id: big\n"
        "    title: Generated\n    severity: low\n    channels: [treaties]\n"
        "    match: {any: [$big]}\n"
    )


class Recorder:
    """Collects what the watcher hands over, and wakes a waiting test."""

    def __init__(self) -> None:
        self.sets: list[RuleSet] = []
        self.errors: list[RuleSetError] = []
        self.recovered = 0
        self.event = asyncio.Event()

    def on_recover(self) -> None:
        self.recovered += 1
        self.event.set()

    def on_reload(self, rule_set: RuleSet) -> None:
        self.sets.append(rule_set)
        self.event.set()

    def on_error(self, error: RuleSetError) -> None:
        self.errors.append(error)
        self.event.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.event.wait(), timeout=20)
        self.event.clear()


async def test_reload_swaps_in_a_valid_set_and_keeps_the_old_one_on_errors(
    tmp_path: Path,
) -> None:
    """A valid change is handed over; an invalid one is reported with file and line."""
    write(tmp_path, VALID.format(term="treaty"))
    current = load_rule_set([tmp_path])
    recorder = Recorder()
    watcher = RuleWatcher([tmp_path], recorder.on_reload, recorder.on_error, current=current)

    assert await watcher.reload() is not None
    assert recorder.sets == []  # unchanged content is not a new set

    write(tmp_path, VALID.format(term="accord"))
    new = await watcher.reload()
    assert new is not None
    assert recorder.sets == [new]
    assert [m.rule_id for m in new.match(entry(title="peace accord"))] == ["r"]

    write(tmp_path, VALID.format(term="accord").replace("severity: low", "severity: huge"))
    assert await watcher.reload() is None
    assert recorder.sets == [new]
    (error,) = recorder.errors
    assert error.errors[0].file.endswith("rules.yaml")
    assert (error.errors[0].line, error.errors[0].column) == (5, 15)


async def test_a_reloaded_set_arrives_with_every_pattern_built(tmp_path: Path) -> None:
    """One-shot commands build a phrase's patterns when first searched; a matching process's
    sets are built in the reload thread (``prepare``), so no match on its event loop compiles
    one."""
    write(tmp_path, VALID.format(term='"[withdraw*, exit, quit] from the treaty"'))
    lazy = load_rule_set([tmp_path])
    assert any(not _built(term) for term in lazy.terms)
    write(tmp_path, VALID.format(term='"[withdraw*, exit, leave] from the treaty"'))
    recorder = Recorder()
    watcher = RuleWatcher(
        [tmp_path], recorder.on_reload, recorder.on_error, current=lazy, prepare=True
    )
    new = await watcher.reload()
    assert new is not None
    assert recorder.sets == [new]
    assert all(_built(term) for term in new.terms)
    assert [m.rule_id for m in new.match(entry(title="Russia to leave from the treaty"))] == ["r"]


def _built(term: Term) -> bool:
    lazies = (term.lazy_finder, term.wider, term.twin, term.lazy_bounded)
    return all(lazy is None or lazy._built is not terms_module._UNBUILT for lazy in lazies)


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


async def test_putting_the_running_files_back_clears_the_reload_error(tmp_path: Path) -> None:
    """Broken, then restored to the running version: the error is cleared, and logged so."""
    write(tmp_path, VALID.format(term="treaty"))
    recorder = Recorder()
    watcher = RuleWatcher(
        [tmp_path], recorder.on_reload, recorder.on_error, on_recover=recorder.on_recover,
        current=load_rule_set([tmp_path]),
    )  # fmt: skip
    write(tmp_path, "version: 1\nrules: [\n")
    assert await watcher.reload() is None
    assert (len(recorder.errors), watcher.failed) == (1, True)

    write(tmp_path, VALID.format(term="treaty"))
    with capture_logs() as logs:
        assert await watcher.reload() is not None
    assert (recorder.recovered, recorder.sets, watcher.failed) == (1, [], False)
    assert [e["event"] for e in logs] == ["rules_reload_recovered"]

    with capture_logs() as logs:
        await watcher.reload()
    assert recorder.recovered == 1  # recovered once; an unchanged reload after it is just that
    assert [e["event"] for e in logs] == ["rules_reload_unchanged"]


async def test_the_event_loop_keeps_running_while_a_reload_compiles(tmp_path: Path) -> None:
    """Both paths (reload() for SIGHUP, and the file watcher) compile off the event loop."""
    write(tmp_path, VALID.format(term="treaty"))
    compiling = False
    turns_during_compile = 0

    def on_compiling(busy: bool) -> None:
        nonlocal compiling
        compiling = busy

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal turns_during_compile
        while not stop.is_set():
            turns_during_compile += compiling
            await asyncio.sleep(0)

    recorder = Recorder()
    watcher = RuleWatcher(
        [tmp_path], recorder.on_reload, recorder.on_error, on_compiling=on_compiling,
        current=load_rule_set([tmp_path]), debounce_ms=50,
    )  # fmt: skip
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(stop))
    watching = asyncio.create_task(watcher.run(stop))
    try:
        await asyncio.sleep(0.3)  # let the watcher start
        write(tmp_path, big_rule_file(2000, seed=1))
        await recorder.wait()  # the watcher saw the change
        assert turns_during_compile > 0
        (from_watcher,) = recorder.sets

        turns_during_compile = 0
        write(tmp_path, big_rule_file(2000, seed=2))
        assert await watcher.reload() not in (None, from_watcher)
        assert turns_during_compile > 0
        assert not compiling
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(ticking, watching), 10)


async def _get_json(url: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body: dict[str, object] = json.loads(await response.text())
        body["http_status"] = response.status
        return body


def _engine_daemon(tmp_path: Path) -> tuple[Daemon, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ops.yaml").write_text(RULE_FILE)
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[rules]\ndirs = ["{rules}"]\nwatch = false\n'
    )
    return Daemon("engine", config, tmp_path, "daemon"), rules


async def test_a_daemon_clears_its_reload_error_when_the_files_are_put_back(
    tmp_path: Path,
) -> None:
    """SIGHUP with a broken file, then with it removed: status, reload_ok and /readyz recover."""
    daemon, rules = _engine_daemon(tmp_path)
    daemon.start()
    try:
        await daemon.wait_ready(60)
        assert daemon.process is not None
        (rules / "broken.yaml").write_text("version: 1\nrules:\n  - id: Bad Id\n")
        daemon.process.send_signal(signal.SIGHUP)

        async def reload_ok() -> float:
            return await daemon.metric("treaty_monitor_rules_reload_ok")

        assert await wait_for(lambda: _refused(daemon), 30), daemon.log_tail()
        assert await reload_ok() == 0
        ready = await _get_json(daemon.url + "/readyz")
        assert (ready["http_status"], ready["status"]) == (200, "ready")
        assert "broken.yaml:3" in str(ready["rules_error"])

        (rules / "broken.yaml").unlink()
        daemon.process.send_signal(signal.SIGHUP)
        assert await wait_for(reload_ok, 30), daemon.log_tail()
        ready = await _get_json(daemon.url + "/readyz")
        assert (ready["http_status"], ready["rules_error"]) == (200, None)
        assert "rules_reload_recovered" in daemon.log_tail(50)
    finally:
        code = await daemon.astop()
    assert code == 0, daemon.log_tail()


async def _refused(daemon: Daemon) -> bool:
    return bool((await _get_json(daemon.url + "/readyz"))["rules_error"])


async def test_healthz_answers_while_a_sighup_reload_compiles(tmp_path: Path) -> None:
    """A large file reloaded by SIGHUP: /healthz answers while the compile is still running."""
    daemon, rules = _engine_daemon(tmp_path)
    daemon.start()
    try:
        await daemon.wait_ready(60)
        assert daemon.process is not None
        before = (await _get_json(daemon.url + "/readyz"))["rules_version"]
        (rules / "big.yaml").write_text(big_rule_file(20_000))
        daemon.process.send_signal(signal.SIGHUP)
        answered_during_compile = False
        for _ in range(100_000):
            health = await _get_json(daemon.url + "/healthz")
            answered_during_compile |= health["rules_reloading"] is True
            ready = await _get_json(daemon.url + "/readyz")
            if ready["rules_version"] != before:
                break
            assert daemon.process.poll() is None, daemon.log_tail()
        assert answered_during_compile
        health = await _get_json(daemon.url + "/healthz")
        assert health["rules_reloading"] is False
    finally:
        code = await daemon.astop()
    assert code == 0, daemon.log_tail()


async def test_rule_sets_replaced_by_reloads_are_collected(tmp_path: Path) -> None:
    """After five reloads (and one refused) only the set in force is still alive."""
    write(tmp_path, VALID.format(term="treaty"))
    running = [load_rule_set([tmp_path])]
    seen = [weakref.ref(running[0])]

    def swap(new: RuleSet) -> None:
        running[0] = new
        seen.append(weakref.ref(new))

    watcher = RuleWatcher([tmp_path], swap, lambda _error: None, current=running[0])
    for seed in range(5):
        write(tmp_path, big_rule_file(500, seed=seed))
        await watcher.reload()
    write(tmp_path, "version: 1\nrules: [\n")
    await watcher.reload()
    gc.collect()
    assert [ref() is not None for ref in seen] == [False] * 5 + [True]


async def test_compiling_and_dropping_rule_sets_leaves_no_memory_behind(tmp_path: Path) -> None:
    """Nothing allocated by the rules code outlives its set (hyperscan kept every pattern id)."""
    here = [tracemalloc.Filter(True, str(Path(monitor.rules.__file__).parent / "*"))]

    def load_and_drop(seed: int) -> None:
        write(tmp_path, big_rule_file(2000, seed=seed))
        load_rule_set([tmp_path])
        gc.collect()

    tracemalloc.start()
    try:
        load_and_drop(0)  # first use fills module-level state
        before = tracemalloc.take_snapshot().filter_traces(here)
        for seed in (1, 2, 3):
            load_and_drop(seed)
        after = tracemalloc.take_snapshot().filter_traces(here)
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # python-hyperscan leaks one small Scratch object (40 B) per database; ~2,000 ids were 55 KB.
    assert grown < 1024, after.compare_to(before, "lineno")[:5]


async def test_a_reload_keeps_its_compiled_scan_in_the_cache_directory(tmp_path: Path) -> None:
    """With ``cache_dir`` (the daemon passes its rules-cache) a reload stores and rereads scans."""
    rules, cache = tmp_path / "rules", tmp_path / "cache"
    write(rules, VALID.format(term="treaty"))
    recorder = Recorder()
    watcher = RuleWatcher([rules], recorder.on_reload, recorder.on_error, cache_dir=cache)
    first = await watcher.reload()
    assert first is not None
    stored = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.hsdb")}
    assert stored
    write(rules, VALID.format(term="accord"))
    await watcher.reload()
    write(rules, VALID.format(term="treaty"))
    again = await watcher.reload()
    assert again is not None
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.hsdb")}.items() >= stored.items()
    assert [m.rule_id for m in again.match(entry(title="a treaty"))] == ["r"]
