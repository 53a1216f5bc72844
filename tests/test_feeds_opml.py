"""OPML: feed lists read safely (file and line in every error), written back, round trips."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import FeedListError
from monitor.feeds.opml import OutlineFeed, feed_tables, read_opml, write_opml

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My   feeds</title></head>
  <body>
    <outline text="Arms Control" title="Arms Control">
      <outline type="rss" text="Arms Control Association"
               xmlUrl="https://www.armscontrol.org/rss.xml" htmlUrl="https://www.armscontrol.org/"/>
      <outline text="Nuclear">
        <outline type="rss" text="SIPRI" xmlUrl="https://www.sipri.org/rss/combined.xml"
                 category="/Institutes/Sweden,think tank"/>
      </outline>
    </outline>
    <outline text="UN">
      <outline type="rss" text="SIPRI" xmlUrl="https://www.sipri.org/rss/combined.xml"/>
      <outline type="atom" title="\xc3\x9cn\xc3\xafcode News" xmlurl="http://un.example/feed"
               language="fr"/>
      <outline type="rss" text="local" xmlUrl="file:///etc/passwd"/>
      <outline type="rss" text="spaced" xmlUrl="https://bad.example/a b&#x9b;"/>
      <outline type="link" text="just a link" url="https://un.example/"/>
    </outline>
  </body>
</opml>
"""


def test_nested_folders_and_categories_become_tags_and_repeats_merge() -> None:
    """Folders and category paths are tags; a feed in two folders is one feed with both."""
    feeds = read_opml(READER_EXPORT, "my.opml")
    assert feeds.title == "My feeds"
    assert [(f.url, f.title, f.tags, f.language, f.line) for f in feeds.feeds] == [
        ("https://www.armscontrol.org/rss.xml", "Arms Control Association",
         ("arms-control",), "", 6),
        ("https://www.sipri.org/rss/combined.xml", "SIPRI",
         ("arms-control", "nuclear", "institutes", "sweden", "think-tank", "un"), "", 9),
        ("http://un.example/feed", "\u00dcn\u00efcode News", ("un",), "fr", 15),
    ]  # fmt: skip
    assert feeds.feeds[0].html_url == "https://www.armscontrol.org/"


def test_non_http_feeds_are_skipped_with_file_and_line() -> None:
    """A file:// or malformed xmlUrl is not imported (controls removed from the note), and the
    note says where it was."""
    skipped = read_opml(READER_EXPORT, "my.opml").skipped
    assert skipped == (
        "my.opml:17: 'file:///etc/passwd': only http(s) feeds",
        "my.opml:18: 'https://bad.example/a b': not a valid URL",
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE opml [\n<!ENTITY a "aaaaaaaaaa">\n'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
            b'<opml><body><outline xmlUrl="http://x/&b;"/></body></opml>',
            "bomb.opml:2: refused: a DOCTYPE declaration",
        ),
        (
            b'<?xml version="1.0"?>\n<opml>\n<body>\n<outline xmlUrl="http://x/">\n</body></opml>',
            "bomb.opml:5: not well-formed XML: mismatched tag",
        ),
        (
            b"<rss version='2.0'><channel/></rss>",
            "bomb.opml:1: not OPML (the root element is <rss>)",
        ),
        (b"<opml><head/><body><outline text='folder'/></body></opml>", "bomb.opml: no feeds"),
        (b"", "bomb.opml:1: not well-formed XML: no element found"),
    ],
    ids=["entity-bomb", "broken", "not-opml", "no-feeds", "empty"],
)
def test_bad_or_hostile_opml_is_an_error_naming_file_and_line(
    document: bytes, message: str
) -> None:
    """DOCTYPEs and entities are refused, broken XML and non-OPML are named by file and line."""
    with pytest.raises(FeedListError) as caught:
        read_opml(document, "bomb.opml")
    assert str(caught.value).startswith(message)


def test_names_are_slugs_made_unique_and_configured_urls_are_left_out() -> None:
    """Titles become valid, unique feed names; a URL already configured is not added again."""
    feeds = [
        OutlineFeed("https://a.example/rss", 3, title="Arms Control Today"),
        OutlineFeed("https://b.example/rss", 4, title="Arms Control Today"),
        OutlineFeed("https://c.example/news/feed.xml", 5),
        OutlineFeed("https://known.example/rss", 6, title="Known"),
        OutlineFeed("https://d.example/rss", 7, title="D", name="Not A Name!"),
    ]
    tables, left_out = feed_tables(
        feeds,
        "list.opml",
        taken_names={"arms-control-today"},
        taken_urls={"https://known.example/rss": "known"},
    )
    assert [t["name"] for t in tables] == [
        "arms-control-today-2",
        "arms-control-today-3",
        "c-example-news-feed-xml",
        "d",
    ]
    assert left_out == ["list.opml:6: https://known.example/rss is already configured as known"]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:6379/", "http://localhost:8080/rss", "http://10.0.0.5/feed",
     "http://[::1]/feed", "http://169.254.169.254/latest/", "http://metadata.google.internal/"],
)  # fmt: skip
def test_feeds_on_private_addresses_are_imported_only_when_asked(url: str) -> None:
    """A list from elsewhere cannot point the daemon at internal services: a feed on a private
    address is left out (naming file and line) unless --allow-private; metadata ones always."""
    feeds = [OutlineFeed(url, 9, title="inside"), OutlineFeed("https://a.example/rss", 10)]
    tables, left_out = feed_tables(feeds, "x.opml", taken_names=set(), taken_urls={})
    assert [t["url"] for t in tables] == ["https://a.example/rss"]
    assert left_out == [f"x.opml:9: {url}: on a private address (see --allow-private)"]
    allowed, _ = feed_tables(feeds, "x.opml", taken_names=set(), taken_urls={}, allow_private=True)
    metadata = "169.254" in url or "metadata" in url
    assert len(allowed) == (1 if metadata else 2)


def test_a_feed_the_config_would_refuse_is_left_out_naming_line_and_field() -> None:
    """A bad value from our own attributes (an interval) is reported, the rest imported."""
    document = (
        b'<opml xmlns:tm="urn:treaty-monitor:opml:1"><body>\n'
        b'<outline xmlUrl="https://a.example/rss" text="a" tm:interval="soon"/>\n'
        b'<outline xmlUrl="https://b.example/rss" text="b"/>\n</body></opml>'
    )
    tables, left_out = feed_tables(
        read_opml(document, "f.opml").feeds, "f.opml", taken_names=set(), taken_urls={}
    )
    assert [t["name"] for t in tables] == ["b"]
    assert len(left_out) == 1
    assert left_out[0].startswith("f.opml:2: https://a.example/rss: interval: ")


def test_written_opml_reads_back_to_the_same_feeds() -> None:
    """write_opml → read_opml → feed_tables gives back name, url, tags, language, interval and
    enabled, even for names and titles that need escaping."""
    feeds = [
        {"name": "un-news", "url": "https://news.un.org/rss.xml?a=1&b=2", "tags": ["un", "wire"],
         "language": "en", "interval": 900.0, "enabled": True},
        {"name": "quiet", "url": "https://q.example/feed", "tags": [], "language": "",
         "interval": None, "enabled": False, "title": 'Q "&" <A>'},
    ]  # fmt: skip
    document = write_opml(feeds, title="desk & co")
    read = read_opml(document, "out.opml")
    tables, left_out = feed_tables(read.feeds, "out.opml", taken_names=set(), taken_urls={})
    assert read.title == "desk & co"
    assert left_out == []
    assert tables == [
        {"name": "un-news", "url": "https://news.un.org/rss.xml?a=1&b=2", "tags": ["un", "wire"],
         "language": "en", "interval": "900"},
        {"name": "quiet", "url": "https://q.example/feed", "enabled": False},
    ]  # fmt: skip


CONFIG = """\
[fetch]
interval = "5m"

[[feeds]]
name = "un-news"
url = "https://news.un.org/feed/rss.xml"
tags = ["un"]
language = "en"

[[feeds]]
name = "iaea"
url = "https://www.iaea.org/feeds/topnews"
interval = "15m"
enabled = false
"""


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "feeds", *map(str, args)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _feeds_of(config: Path) -> list[dict[str, object]]:
    return list(tomllib.loads(config.read_text())["feeds"])


def test_export_then_import_round_trips_the_feed_list(tmp_path: Path) -> None:
    """``feeds export`` then ``feeds import`` prints [[feeds]] equal to the configured ones."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    exported = _cli("export", "-c", config)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("<?xml")
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported.stdout)
    imported = _cli("import", opml)
    assert imported.returncode == 0, imported.stderr
    expected = _feeds_of(config)
    expected[1]["interval"] = "900"  # durations travel in seconds
    assert tomllib.loads(imported.stdout)["feeds"] == expected
    as_jsonl = _cli("import", opml, "--format", "jsonl")
    assert [json.loads(line)["name"] for line in as_jsonl.stdout.splitlines()] == [
        "un-news",
        "iaea",
    ]


def test_import_write_appends_new_feeds_to_the_config_once(tmp_path: Path) -> None:
    """--write appends only feeds the config lacks, keeps its comments, and the result loads."""
    config = tmp_path / "config.toml"
    config.write_text("# my desk\n" + CONFIG)
    opml = tmp_path / "reader.opml"
    opml.write_bytes(READER_EXPORT)
    first = _cli("import", opml, "-c", config, "--write")
    again = _cli("import", opml, "-c", config, "--write")
    assert first.returncode == 0, first.stderr
    assert "added 3 feeds" in first.stderr
    assert "reader.opml:17: 'file:///etc/passwd': only http(s) feeds" in first.stderr
    assert again.returncode == 0, again.stderr
    assert "no new feeds" in again.stderr
    text = config.read_text()
    assert text.startswith("# my desk\n" + CONFIG)
    assert [f["name"] for f in _feeds_of(config)] == [
        "un-news", "iaea", "arms-control-association", "sipri", "unicode-news",
    ]  # fmt: skip
    assert [f.name for f in load_settings(config).feeds][2:] == [
        "arms-control-association", "sipri", "unicode-news",
    ]  # fmt: skip


def test_import_write_leaves_a_config_it_would_break_untouched(tmp_path: Path) -> None:
    """A config whose feeds cannot take appended [[feeds]] is not changed; the error says why."""
    config = tmp_path / "config.toml"
    original = 'feeds = [{name = "a", url = "https://a.example/rss"}]\n'
    config.write_text(original)
    opml = tmp_path / "reader.opml"
    opml.write_bytes(READER_EXPORT)
    result = _cli("import", opml, "-c", config, "--write")
    assert result.returncode == 2
    assert f"{config}: not changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert config.read_text() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "reader.opml"]


def test_import_of_a_hostile_file_exits_1_naming_file_and_line(tmp_path: Path) -> None:
    """The CLI reports a refused OPML file in one line with its name and line, no traceback."""
    opml = tmp_path / "evil.opml"
    opml.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                     b"\n<opml><body><outline xmlUrl='http://x/&e;'/></body></opml>")  # fmt: skip
    result = _cli("import", opml)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {opml}:2: refused")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
