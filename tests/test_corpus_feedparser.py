"""Robustness: feedparser's test corpus over HTTP, through fetch → parse → match → render.

Every document must end either in entries or in one of our own errors — no other exception, no
hang — and nothing active (a ``<script`` or a ``javascript:`` URL) may survive into an entry.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from monitor.alerts.alert import Alert
from monitor.alerts.render import console_text, email_parts, slack_payload
from monitor.config import FetchSettings
from monitor.errors import MonitorError
from monitor.feeds.entry import Entry
from monitor.feeds.fetch import Fetcher
from monitor.feeds.workers import ParseJob, ParsePool
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set, shipped_rules_dir
from monitor.rules.match import Severity

_ACTIVE = re.compile(r"<\s*script|javascript\s*:|vbscript\s*:", re.IGNORECASE)
_HEADER = re.compile(rb"^Header:\s+([\w-]+):\s*(.*?)\s*$", re.MULTILINE)
_HTML_TAGS = re.compile(r"<(?![^<>]*(?:script|javascript\s*:))[^<>]*>", re.IGNORECASE)
_SKIP_HEADERS = {"status", "location", "content-location"}
_ENCODINGS = {".gz": "gzip", ".z": "deflate"}


def _corpus(start: Path) -> Path | None:
    for parent in (start, *start.parents):
        candidate = parent / "shared" / "corpus" / "feedparser"
        if candidate.is_dir():
            return candidate
    return None


CORPUS = _corpus(Path(__file__).resolve().parent.parent)


def _documents() -> list[Path]:
    if CORPUS is None:
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "LICENSE")


def _response_for(path: Path, base: str) -> web.Response:
    body = path.read_bytes()
    headers: dict[str, str] = {}
    status = 200
    for name, value in _HEADER.findall(body[:2000]):
        key, text = name.decode().lower(), value.decode("latin-1")
        if key == "status":
            status = int(text)
        elif key == "location":
            headers["Location"] = text.replace("http://localhost:8097/tests/", f"{base}/")
        elif key not in _SKIP_HEADERS:
            headers[name.decode()] = text
    if path.suffix in _ENCODINGS:
        headers["Content-Encoding"] = _ENCODINGS[path.suffix]
    return web.Response(status=status, body=body, headers=headers)


@pytest.fixture
async def corpus_site() -> AsyncIterator[str]:
    """The corpus on a local aiohttp server; yields its base URL."""
    assert CORPUS is not None
    root = CORPUS
    base = ""

    async def handle(request: web.Request) -> web.Response:
        path = (root / request.match_info["tail"]).resolve()
        if root not in path.parents or not path.is_file():
            return web.Response(status=404)
        return _response_for(path, base)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    yield base
    await runner.cleanup()


def _sinks_text(entry: Entry, rules: RuleSet) -> list[str]:
    """The entry matched against the shipped rules, then rendered for every sink format."""
    matches = rules.match(entry)
    now = datetime.now(UTC)
    alerts = [Alert.from_match(m, entry, "corpus", now) for m in matches] or [
        Alert("x", "corpus", "corpus", "Corpus", Severity.INFO, (), entry, ())
    ]
    out = []
    for alert in alerts:
        parts = email_parts(alert)
        out += [console_text(alert), json.dumps(slack_payload(alert)), parts.subject, parts.text]
        out.append(_HTML_TAGS.sub("", parts.html))  # the template's own tags are not feed content
    return out


def _active_parts(entry: Entry) -> list[str]:
    fields = (entry.title, entry.summary, entry.content, entry.guid, *entry.categories)
    found = [text for text in fields if _ACTIVE.search(text)]
    if entry.link and not entry.link.startswith(("http://", "https://")):
        found.append(entry.link)
    return found


@pytest.mark.slow
@pytest.mark.skipif(CORPUS is None, reason="feedparser corpus not found at ../shared/corpus")
async def test_every_corpus_document_ends_in_entries_or_our_own_error(corpus_site: str) -> None:
    """2,000+ documents: no foreign exception, no hang, nothing active in entries or renders."""
    assert CORPUS is not None
    documents = _documents()
    fetcher = Fetcher(FetchSettings(allow_private_networks=True, timeout=10, max_redirects=3))
    pool = ParsePool(2, timeout=10, memory_bytes=1 << 30)
    rules = load_rule_set([shipped_rules_dir()])
    slots = asyncio.Semaphore(32)
    outcomes: Counter[str] = Counter()
    active: list[tuple[str, list[str]]] = []

    async def one(path: Path) -> None:
        url = f"{corpus_site}/{path.relative_to(CORPUS).as_posix()}"
        async with slots:
            try:
                result = await fetcher.fetch(url, configured_url=url)
                job = ParseJob(
                    result.body, "corpus", url, datetime.now(UTC), content_type=result.content_type
                )
                parsed = await pool.parse(job)
            except MonitorError as exc:
                outcomes[type(exc).__name__] += 1
                return
        outcomes["entries"] += 1
        for entry in parsed.entries:
            found = _active_parts(entry)
            found += [t for t in _sinks_text(entry, rules) if _ACTIVE.search(t)]
            if found:
                active.append((str(path), found))

    started = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(one(p) for p in documents)), timeout=100)
    finally:
        await fetcher.close()
        pool.close()
    elapsed = time.monotonic() - started
    assert len(documents) >= 2000
    assert sum(outcomes.values()) == len(documents)
    assert outcomes["entries"] >= len(documents) * 0.95, outcomes
    assert active == []
    assert elapsed < 100
