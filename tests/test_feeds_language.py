"""Entry language: tags normalised, the feed document's language, precedence, and detection."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.feeds.entry import Entry
from monitor.feeds.fastparse import fast_items
from monitor.feeds.language import Detector, default_detector, detection_text, normalise_language
from monitor.feeds.opml import read_opml
from monitor.feeds.parse import parse_feed
from monitor.feeds.workers import ParseJob, batch_job

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
CORPORA = sorted((Path(__file__).parent / "corpus").glob("*.jsonl"))

EN_TITLE = "Russia suspends its participation in the New START treaty"
EN_SUMMARY = "The foreign ministry said inspections under the treaty would not resume this year."


def _rss(channel: str = "", item: str = "", root: str = "") -> bytes:
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'{root}><channel><title>t</title>"
        f"{channel}<item><title>{EN_TITLE}</title><description>{EN_SUMMARY}</description>"
        f"<guid isPermaLink='false'>g1</guid>{item}</item></channel></rss>"
    ).encode()


def _atom(root_lang: str, summary_lang: str = "") -> bytes:
    lang = f" xml:lang='{summary_lang}'" if summary_lang else ""
    return (
        "<feed xmlns='http://www.w3.org/2005/Atom'"
        f" xml:lang='{root_lang}'><title>t</title><entry><id>e1</id><title>{EN_TITLE}</title>"
        f"<summary{lang}>{EN_SUMMARY}</summary></entry></feed>"
    ).encode()


def _languages(body: bytes, **kwargs: object) -> list[str]:
    parsed = parse_feed(body, feed="x", feed_url="http://127.0.0.1/x", now=NOW, **kwargs)  # type: ignore[arg-type]
    return [e.language for e in parsed.entries]


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        (" fr ", "fr"),
        ("zh-Hans-CN", "zh"),
        ("iw", "he"),
        ("xx", ""),
        ("english", ""),
        ("x-default", ""),
        ("", ""),
        (None, ""),
        (7, ""),
    ],
)
def test_language_tags_become_lower_case_iso_639_1_codes_or_nothing(tag: object, code: str) -> None:
    """Region and script subtags are dropped; anything that is no language code is unknown."""
    assert normalise_language(tag) == code


def test_an_atom_feed_with_xml_lang_fr_gives_fr() -> None:
    """The root's xml:lang is the entries' language, even over English-looking text."""
    assert _languages(_atom("fr"), detect=default_detector()) == ["fr"]


def test_an_entrys_own_xml_lang_beats_the_channels() -> None:
    """xml:lang on the summary is the entry's own language: it wins over the root's."""
    assert _languages(_atom("fr", summary_lang="es")) == ["es"]


@pytest.mark.parametrize("slow_only", [False, True], ids=["fast-path", "feedparser"])
def test_an_rss_channel_language_is_every_entrys_language(slow_only: bool) -> None:
    """<language>de-DE</language> gives "de" on both parser paths."""
    assert _languages(_rss("<language>de-DE</language>"), slow_only=slow_only) == ["de"]


def test_an_items_dc_language_beats_the_channels() -> None:
    """An item that says its own language (dc:language) keeps it."""
    dc = " xmlns:dc='http://purl.org/dc/elements/1.1/'"
    body = _rss("<language>de</language>", "<dc:language>ru</dc:language>", root=dc)
    assert _languages(body) == ["ru"]


def test_the_feeds_configured_language_beats_the_document() -> None:
    """The operator knows best: config language "EN-us" gives "en" over the channel's "de"."""
    job = ParseJob(
        _rss("<language>de</language>"), "x", "http://127.0.0.1/x", NOW, language="EN-us"
    )
    (record,) = batch_job(job).records
    assert Entry.from_json(record[2]).language == "en"


@pytest.mark.parametrize("slow_only", [False, True], ids=["fast-path", "feedparser"])
def test_an_english_feed_without_a_language_is_detected_en(slow_only: bool) -> None:
    """No tag anywhere: the detector reads title and summary."""
    assert _languages(_rss(), detect=default_detector(), slow_only=slow_only) == ["en"]


def test_parse_workers_detect_by_default() -> None:
    """The daemon's parse job detects unless told not to."""
    job = ParseJob(_rss(), "x", "http://127.0.0.1/x", NOW)
    assert Entry.from_json(batch_job(job).records[0][2]).language == "en"
    quiet = ParseJob(_rss(), "x", "http://127.0.0.1/x", NOW, language_detection="off")
    assert Entry.from_json(batch_job(quiet).records[0][2]).language == ""


def test_a_document_tag_that_is_not_a_language_leaves_it_to_the_detector() -> None:
    """<language>junk</language> is ignored, not copied."""
    body = _rss("<language>junk</language>")
    assert _languages(body) == [""]
    assert _languages(body, detect=default_detector()) == ["en"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Россия приостановила участие в ДСНВ", "ru"),
        ("Україна ратифікувала Римський статут", "uk"),
        ("Washington se retire de l'accord sur le nucléaire iranien", "fr"),
        ("Deutschland kündigt den Vertrag über den Offenen Himmel", "de"),
        ("Estados Unidos se retira del acuerdo nuclear con Irán", "es"),
        ("US pulls out of the Open Skies Treaty", "en"),
        ("2026-01-10 12:00 — 42 / 17", ""),
        ("", ""),
    ],
)
def test_the_detector_names_the_language_of_a_headline(text: str, code: str) -> None:
    """Short text goes to lingua; text without letters is unknown."""
    assert default_detector()(text) == code


def test_longer_text_is_detected_too() -> None:
    """Title and summary together take the CLD2 path."""
    text = detection_text(
        "La Russie suspend sa participation au traité New START",
        "Le ministère russe des affaires étrangères a indiqué que les inspections ne "
        "reprendraient pas cette année, selon un communiqué publié mardi.",
    )
    assert len(text) >= default_detector().short_text
    assert default_detector()(text) == "fr"


def test_a_detector_needs_known_languages() -> None:
    """A language set the detector cannot use is refused when it is built."""
    with pytest.raises(ValueError, match="at least two"):
        Detector(["en"])
    with pytest.raises(ValueError, match="at least two"):
        Detector(["en", "xx"])


def test_the_detector_agrees_with_the_labelled_corpora() -> None:
    """Title and summary of every labelled item: at least 99% detected as labelled."""
    detect = default_detector()
    right = total = 0
    for path in CORPORA:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                total += 1
                right += detect(detection_text(item["title"], item["summary"])) == item["lang"]
    assert total > 1000
    assert right / total >= 0.99


@pytest.mark.parametrize(
    "root",
    [" xml:lang='fr'", " lang='fr'"],
    ids=["xml-lang", "bare-lang"],
)
def test_the_fast_path_leaves_xml_lang_to_feedparser(root: str) -> None:
    """feedparser hands xml:lang down to every detail: the fast path does not reproduce that."""
    assert fast_items(_rss(root=root)) is None
    assert _languages(_rss(root=root)) == ["fr"]


def test_a_feed_language_that_is_no_code_is_a_config_error_naming_file_line_and_field(
    tmp_path: Path,
) -> None:
    """``language = "english"`` in [[feeds]] stops the load; "en-US" is kept as "en"."""
    path = tmp_path / "config.toml"
    feed = '[[feeds]]\nname = "a"\nurl = "http://127.0.0.1/x"\nlanguage = "{}"\n'
    path.write_text(feed.format("english"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert f"{path}:4: feeds.0.language:" in str(caught.value)
    assert "'english' is not an ISO 639-1 language code" in str(caught.value)
    path.write_text(feed.format("en-US"), encoding="utf-8")
    assert load_settings(path).feeds[0].language == "en"


def test_opml_languages_are_normalised_so_the_written_config_loads() -> None:
    """An OPML outline's language="fr-FR" is "fr"; one that is no language code is dropped."""
    opml = (
        b"<opml version='2.0'><body>"
        b"<outline type='rss' text='a' xmlUrl='https://a.example/feed' language='fr-FR'/>"
        b"<outline type='rss' text='b' xmlUrl='https://b.example/feed' language='Deutsch'/>"
        b"</body></opml>"
    )
    assert [f.language for f in read_opml(opml, "feeds.opml").feeds] == ["fr", ""]
