"""Story grouping: normalised title words and Jaccard similarity, table-tested."""

from __future__ import annotations

import pytest

from monitor.alerts.grouping import (
    Story,
    absorb,
    expired,
    find_story,
    followup_due,
    jaccard,
    story_words,
)


def _story(title: str, *, rule: str = "inf", opened: float = 0.0, sid: str = "s1") -> Story:
    return Story(id=sid, rule_id=rule, words=story_words(title), first_feed="tass",
                 opened_at=opened, alert_json="{}", last_sent=opened)  # fmt: skip


def test_story_words_drop_case_accents_punctuation_and_stopwords() -> None:
    """Only content words remain, folded to plain lower case."""
    assert story_words("The U.S. gives Russia 60 days — Pompeo's ULTIMATUM, in Genève") == {
        "gives", "russia", "60", "days", "pompeo", "ultimatum", "geneve",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("US gives Russia 60 days to return to INF compliance",
         "U.S. gives Russia 60 days to comply with INF treaty", True),
        ("Russia, US hold INF Treaty consultations in Geneva",
         "INF Treaty consultations in Geneva: Russia and US meet", True),
        ("Russia, US hold INF Treaty consultations in Geneva",
         "New START extension talks stall in Vienna", False),
        ("US suspends INF obligations", "Russia suspends New START inspections", False),
        ("", "", False),
    ],
)  # fmt: skip
def test_titles_of_one_story_reach_the_threshold(a: str, b: str, same: bool) -> None:
    """Reports of the same story from two outlets score ≥ 0.5; different stories do not."""
    assert (jaccard(story_words(a), story_words(b)) >= 0.5) is same


def test_find_story_picks_the_most_similar_open_story_of_the_same_rule() -> None:
    """Other rules' stories and stories older than the window are never joined."""
    title = "US gives Russia 60 days to return to INF compliance"
    stories = [
        _story(title, rule="other", sid="a"),
        _story(title, opened=-5000.0, sid="old"),
        _story("US gives Russia deadline on INF", sid="weak"),
        _story("US gives Russia 60 days on INF compliance", sid="best"),
    ]
    found = find_story(story_words(title), "inf", stories, now=0.0, window=1800.0)
    assert found is not None
    assert found.id == "best"
    assert find_story(story_words("Unrelated"), "inf", stories, now=0.0, window=1800.0) is None


def test_absorb_counts_each_outlet_once() -> None:
    """The opening outlet and repeats of an outlet add no source."""
    story = _story("x")
    story = absorb(absorb(absorb(absorb(story, "reuters"), "reuters"), "tass"), "ap")
    assert story.sources == ("reuters", "ap")


@pytest.mark.parametrize(
    ("sources", "reported", "last_sent", "now", "due"),
    [
        ((), 0, 0.0, 1000.0, False),
        (("reuters",), 0, 0.0, 299.0, False),
        (("reuters",), 0, 0.0, 300.0, True),
        (("reuters",), 1, 0.0, 1000.0, False),
        (("reuters", "ap"), 1, 400.0, 800.0, True),
    ],
)
def test_followup_is_due_after_the_delay_when_new_sources_wait(
    sources: tuple[str, ...], reported: int, last_sent: float, now: float, due: bool
) -> None:
    """A follow-up goes out only for unreported sources, ``delay`` after the last message."""
    story = Story("s", "inf", frozenset(), "tass", 0.0, "{}", sources, reported, last_sent)
    assert followup_due(story, now=now, delay=300.0) is due


def test_story_expires_only_after_window_with_nothing_left_to_report() -> None:
    """An old story with an unsent follow-up is kept until it is sent."""
    pending = Story("s", "inf", frozenset(), "tass", 0.0, "{}", ("ap",), 0, 0.0)
    assert not expired(pending, now=5000.0, window=1800.0)
    assert expired(absorb(_story("x"), "tass"), now=5000.0, window=1800.0)
    assert not expired(_story("x"), now=100.0, window=1800.0)


def test_story_round_trips_through_json() -> None:
    """What is stored in Redis reads back equal."""
    story = Story("s", "inf", frozenset({"a", "b"}), "tass", 1.5, '{"x":1}', ("ap",), 1, 2.5)
    assert Story.from_json(story.to_json()) == story
