"""Text for matching and display: HTML reduced to plain text, links limited to http(s)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment: no markup, entities decoded, whitespace collapsed."""
    if not value:
        return ""
    if "<" in value or "&" in value:
        tree = HTMLParser(value)
        for node in tree.css("script, style, noscript, iframe, object, embed, template"):
            node.decompose()
        root = tree.body or tree.root
        value = root.text(separator=" ") if root is not None else ""
        value = html.unescape(value)
    value = _CONTROL.sub("", value)
    value = _SPACES.sub(" ", value)
    value = _BLANK_LINES.sub("\n\n", value)
    return value.strip()


def safe_link(value: str) -> str:
    """The link if it is an absolute http(s) URL, else the empty string."""
    value = value.strip()
    if not value or any(c in value for c in "\r\n\t <>\"'`"):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return value
