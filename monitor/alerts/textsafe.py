"""Feed text made harmless for each destination: terminals, Slack mrkdwn, mail headers. Pure."""

from __future__ import annotations

import re

from monitor.feeds.text import safe_link

# CSI / OSC / other escape sequences first (so their parameters go too), then lone controls,
# C1 controls and the bidi overrides that can reorder what a terminal shows.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS / SOS / PM / APC strings
    r"|\x1b."  # two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_WHITESPACE = re.compile(r"\s+")
_ENCODED_WORD = re.compile(r"=\?", re.ASCII)
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")  # the tail of an entity cut short: "&am", "&l"
# Slack mrkdwn has no escape for its formatting characters (a backslash stays visible), so in
# mrkdwn text they become look-alikes Slack does not parse: ∗ (U+2217), ˍ (U+02CD), ∼ (U+223C),
# ˋ (U+02CB). Text objects of type plain_text are never formatted and keep the originals.
_SLACK_FORMATTING = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def strip_terminal(text: str) -> str:
    """``text`` without escape sequences, control characters or bidi overrides (newlines kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str, limit: int = 0) -> str:
    """Printable single line: controls removed, whitespace collapsed, cut to ``limit`` chars."""
    line = _WHITESPACE.sub(" ", strip_terminal(text.replace("\n", " "))).strip()
    if limit and len(line) > limit:
        line = line[: max(limit - 1, 0)].rstrip() + "…"
    return line


def slack_escape(text: str) -> str:
    """Escape the three characters Slack parses as control sequences (mentions, links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_cut(text: str, limit: int) -> str:
    """Escaped Slack text cut to ``limit`` characters, never through an entity like ``&amp;``."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: max(limit - 1, 0)]) + "…"


def slack_mrkdwn(text: str) -> str:
    """Feed text for a mrkdwn object: shown literally, never bold, italic, struck or code."""
    return slack_escape(text).translate(_SLACK_FORMATTING)


def slack_link(url: str, label: str) -> str:
    """A Slack ``<url|label>`` link, or the label alone if ``url`` is not http(s); mrkdwn-safe."""
    safe = safe_link(url)
    if not safe:
        return slack_mrkdwn(label)
    target = slack_escape(safe).replace("|", "%7C")
    return f"<{target}|{slack_mrkdwn(label).replace('|', '¦')}>"


def header_text(text: str, limit: int = 200) -> str:
    """A mail-header-safe line: no CR/LF or controls, no RFC 2047 encoded-word openers."""
    line = one_line(text, limit)
    # "=?" could start an encoded word a mail client decodes into a newline or a fake header.
    return _ENCODED_WORD.sub("= ?", line)


def http_link(url: str) -> str:
    """The entry's link if it is an absolute http(s) URL, else the empty string."""
    return safe_link(url)
