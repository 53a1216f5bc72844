"""Hostile feed text cannot become markup, mentions, links, headers or terminal escapes."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date

import pytest

from monitor.alerts.render import (
    Digest,
    console_text,
    email_digest_parts,
    email_parts,
    slack_payload,
    webhook_payload,
)
from monitor.alerts.sinks.email import build_message
from monitor.alerts.textsafe import (
    header_text,
    one_line,
    slack_cut,
    slack_escape,
    slack_link,
    slack_mrkdwn,
    strip_terminal,
)
from tests.delivery_helpers import make_alert

SLACK_TRICKS = ["<!channel>", "<!here>", "<@U123>", "<https://evil.example|bank>", "<#C123>"]


def _slack_texts(payload: dict[str, object]) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return found


@pytest.mark.parametrize("trick", SLACK_TRICKS)
def test_slack_mentions_and_links_in_feed_text_are_escaped(trick: str) -> None:
    """No `<...>` control sequence from a title, summary or term survives into any Slack text."""
    alert = make_alert(f"Treaty news {trick} now", summary=f"see {trick}", terms=(trick,))
    payload = slack_payload(alert)
    texts = _slack_texts(payload)
    assert texts
    for text in texts:
        assert trick not in text
    assert any(slack_escape(trick) in t for t in texts)


def test_slack_renders_only_the_entrys_http_link() -> None:
    """The title links to the entry's https URL; a javascript: link is not rendered at all."""
    good = json.dumps(slack_payload(make_alert(link="https://example.org/a?b=1&c=2")))
    assert "<https://example.org/a?b=1&amp;c=2|" in good
    bad = json.dumps(slack_payload(make_alert(link="javascript:alert(1)")))
    assert "javascript" not in bad
    piped = json.dumps(slack_payload(make_alert(link="https://example.org/x|evil")))
    assert "x%7Cevil|" in piped


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("*bold*", "∗bold∗"),
        ("_italic_", "ˍitalicˍ"),
        ("~struck~", "∼struck∼"),
        ("`code`", "ˋcodeˋ"),
        ("```block```", "ˋˋˋblockˋˋˋ"),
        ("a*b_c~d`e", "a∗bˍc∼dˋe"),
        ("<!channel> *x*", "&lt;!channel&gt; ∗x∗"),
    ],
)
def test_slack_mrkdwn_text_has_no_formatting_characters(raw: str, shown: str) -> None:
    """Formatting characters become look-alikes Slack does not parse; controls stay escaped."""
    assert slack_mrkdwn(raw) == shown


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("abcdef", 10, "abcdef"),
        ("abcdef", 4, "abc…"),
        ("&amp;&amp;", 7, "&amp;…"),
        ("ab&lt;", 5, "ab…"),
        ("ab&gt;cd", 7, "ab&gt;…"),
    ],
)
def test_slack_cut_never_splits_an_entity(text: str, limit: int, cut: str) -> None:
    """Escaped text is cut within the limit, before a half entity rather than through it."""
    assert slack_cut(text, limit) == cut
    assert len(slack_cut(text, limit)) <= limit


def test_slack_link_label_cannot_format() -> None:
    """A link's label (the feed's title) shows its formatting characters literally."""
    link = slack_link("https://example.org/a_b*c", "*Urgent* _now_")
    assert link == "<https://example.org/a_b*c|∗Urgent∗ ˍnowˍ>"


def test_slack_text_objects_are_verbatim() -> None:
    """Slack is told not to auto-link URLs, channels or mentions in our text."""
    payload = slack_payload(make_alert("@channel look at https://evil.example"))
    blocks = payload["blocks"]
    assert isinstance(blocks, list)
    assert blocks[0]["text"]["verbatim"] is True


@pytest.mark.parametrize(
    "title",
    [
        "INF\r\nBcc: victim@example.org",
        "INF\nX-Injected: yes",
        "INF =?UTF-8?Q?=0A?=Bcc: victim@example.org",
        "INF =?utf-8?b?Cg==?= done",
        "Договор РСМД =?UTF-8?Q?=0A?=Bcc: victim@example.org",  # non-ASCII: the subject is encoded
    ],
)
def test_email_subject_has_no_line_breaks_or_encoded_word_tricks(title: str) -> None:
    """The subject is one line, and no encoded word a mail client would decode survives."""
    alert = make_alert(title)
    parts = email_parts(alert)
    assert "\r" not in parts.subject
    assert "\n" not in parts.subject
    assert "=?" not in parts.subject
    raw = build_message(parts, sender="tm@example.org", to=("a@example.org",), msg_id=alert.id)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert parsed["X-Injected"] is None
    assert "\n" not in str(parsed["Subject"])
    assert "=?" not in str(parsed["Subject"])  # decoding what we sent yields no new encoded word
    assert parsed.get_all("Subject") is not None
    assert len(parsed.get_all("Subject") or []) == 1


def test_email_html_escapes_script_and_keeps_text_readable() -> None:
    """`<script>` in a summary is escaped in HTML and appears as plain text in the text part."""
    alert = make_alert(
        "Talks <b>resume</b>", summary="<script>alert('x')</script> & more",
        link="https://example.org/?a=1&b=<2>",
    )  # fmt: skip
    parts = email_parts(alert)
    assert "<script>" not in parts.html
    assert "&lt;script&gt;" in parts.html
    assert "<b>resume</b>" not in parts.html
    assert "<script>alert('x')</script> & more" in parts.text


def test_email_html_links_only_http_urls() -> None:
    """A javascript: link never becomes an href."""
    parts = email_parts(make_alert(link="javascript:alert(1)"))
    assert "href" not in parts.html
    assert "javascript" not in parts.html


def test_email_shows_deadline_terms_and_sources() -> None:
    """The text part carries rule, severity, source, link, matched terms and the deadline."""
    alert = make_alert(deadline=date(2019, 2, 2), terms=("60 days", "INF Treaty"))
    text = email_parts(alert).text
    for expected in ("HIGH", "INF Treaty talks", "sample", "https://example.org/inf-geneva",
                     "60 days, INF Treaty", "2019-02-02"):  # fmt: skip
        assert expected in text


def test_email_digest_lists_every_alert_escaped() -> None:
    """A digest email names each alert and escapes hostile titles in HTML."""
    alerts = (make_alert("<script>x</script>", entry_id="a"), make_alert("Second", entry_id="b"))
    parts = email_digest_parts(Digest("d1", "desk", alerts))
    assert "2 alerts" in parts.subject
    assert "<script>" not in parts.html
    assert "Second" in parts.text
    assert "&lt;script&gt;" in parts.html


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b]0;pwned title\x07text", "text"),
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("bell\x07 back\x08space", "bell backspace"),
        ("\x9b31mC1 csi", "C1 csi"),
        ("bidi \u202eevil\u202c", "bidi evil"),
        ("\x1bPdcs payload\x1b\\after", "after"),
    ],
)
def test_terminal_escapes_and_controls_are_stripped(raw: str, clean: str) -> None:
    """Escape sequences, C0/C1 controls and bidi overrides never reach the terminal."""
    assert strip_terminal(raw) == clean


def test_console_text_shows_every_field_without_feed_escapes() -> None:
    """The console block has severity, rule, title, source, time, link, terms and deadline."""
    alert = make_alert("\x1b[2J\x1b[31mINF\x1b[0m ultimatum\r\nfake line",
                       deadline=date(2019, 2, 2), terms=("ultimatum",))  # fmt: skip
    text = console_text(alert)
    assert "\x1b" not in text
    assert "\r" not in text
    assert text.splitlines()[0] == "[HIGH] inf-talks · INF ultimatum fake line"
    for expected in ("sample · 2019-01-16 12:30 UTC", "https://example.org/inf-geneva",
                     "matched:  ultimatum", "deadline: 2019-02-02"):  # fmt: skip
        assert expected in text


def test_console_colour_only_when_asked() -> None:
    """Colour codes are ours alone, and only when colour is on."""
    assert "\x1b[" not in console_text(make_alert())
    assert "\x1b[91m[HIGH]" in console_text(make_alert(), colour=True)


def test_header_text_caps_length_and_neutralises_encoded_words() -> None:
    """Long subjects are cut with an ellipsis; `=?` is broken up."""
    assert header_text("=?x?" + "a" * 500, 50).startswith("= ?x?")
    assert len(header_text("a" * 500, 50)) == 50
    assert one_line("a\n\n b\tc") == "a b c"


def test_webhook_payload_follows_the_documented_schema() -> None:
    """schema, type, subscription and the alert (with its link sanitised)."""
    payload = webhook_payload(make_alert(link="file:///etc/passwd"), "desk")
    assert payload["schema"] == "treaty-monitor.alert/1"
    assert payload["type"] == "alert"
    assert payload["subscription"] == "desk"
    assert payload["alert"]["entry"]["link"] == ""
    assert payload["alert"]["rule_id"] == "inf-talks"
