"""Text for matching and display: HTML reduced to plain text, links limited to http(s).

Feed content is hostile. What leaves this module is plain text in which nothing can act as markup
or as a script link even if a sink forgets to escape it: a ``<`` that would open a tag becomes
``‹`` and a ``javascript:`` (or ``vbscript:``/``data:``) scheme loses its colon.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_LINE_EDGES = re.compile(r" *\n *")
# C0/C1 controls, zero-width and bidi-override characters: invisible, and used to dodge filters.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
_UNUSUAL = re.compile(r"[^\x21-\x7e]\s|\s[^\x21-\x7e]|[^\x20-\x7e]|^\s|\s$")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_ACTIVE_SCHEME = re.compile(r"(?i)\b(java\s*script|vb\s*script|data)\s*:")
_DROP = "script, style, noscript, iframe, object, embed, template, svg, math, head"
_BLOCKS = "p, div, br, li, tr, h1, h2, h3, h4, h5, h6, blockquote, pre, hr, dt, dd, section"
_HAS_DROP = re.compile(r"<\s*(?:" + _DROP.replace(", ", "|") + r")\b", re.IGNORECASE)
_HAS_BLOCK = re.compile(r"<\s*(?:" + _BLOCKS.replace(", ", "|") + r")\b", re.IGNORECASE)
_LINK_BAD = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")
_MAX_LINK = 2048


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment: no markup, entities decoded once, whitespace collapsed."""
    if not value:
        return ""
    if "<" in value or "&" in value:
        tree = HTMLParser(value)
        if _HAS_DROP.search(value):
            for node in tree.css(_DROP):
                node.decompose()
        if _HAS_BLOCK.search(value):
            for node in tree.css(_BLOCKS):
                node.insert_before("\n")
        root = tree.body or tree.root
        value = root.text(deep=True, separator="") if root is not None else ""
    return plain_text(value)


def plain_text(value: str) -> str:
    """Clean text that was never markup: controls removed, whitespace collapsed, defused."""
    # Most text is printable ASCII with single spaces: skip the regexes it cannot need.
    if _UNUSUAL.search(value):
        value = _INVISIBLE.sub("", value)
        value = _SPACES.sub(" ", value)
        if "\n" in value:
            value = _LINE_EDGES.sub("\n", value)
            value = _BLANK_LINES.sub("\n\n", value)
    return defuse(value.strip())


def defuse(value: str) -> str:
    """Make text inert: no tag openers, no script-capable URL schemes."""
    if "<" in value:
        value = _TAG_OPEN.sub("\u2039", value)
    if ":" in value:
        value = _ACTIVE_SCHEME.sub(lambda m: m.group(1) + "\uff1a", value)
    return value


def one_line(value: str) -> str:
    """Text for a title: a single line."""
    return " ".join(value.split())


def safe_link(value: str) -> str:
    """The link if it is an absolute http(s) URL with a host, else the empty string."""
    value = value.strip()
    if not value or len(value) > _MAX_LINK or _LINK_BAD.search(value):
        return ""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return ""
    return scheme + value[len(scheme) :]
