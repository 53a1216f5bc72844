"""Cut a feed document into its raw items without parsing it, so only changed items get parsed.

A changed feed usually carries one or two new items among twenty old ones; parsing only the new
ones (header + new items, re-assembled into a small document) is what makes a fetch cycle cheap.
The cutter is deliberately conservative: when the document is anything but a plain sequence of
``<item>``/``<entry>`` elements (nesting, self-closing items, non-ASCII-compatible encodings), it
returns ``None`` and the caller parses the whole document.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Comments, CDATA sections and processing instructions may hold anything, "<item>" included.
_OPAQUE = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)
_ITEM_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(item|entry)(?=[\s/>])([^>]*)>")
_GUID = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(guid|id)(?:\s[^>]*)?>\s*(?:<!\[CDATA\[)?\s*([^<]{1,2000}?)\s*"
    rb"(?:\]\]>)?\s*</"
)
_HASH_BYTES = 8


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item's bytes as they stand in the document, with a digest and the guid it shows."""

    start: int
    end: int
    digest: str
    guid_hint: bytes


@dataclass(frozen=True, slots=True)
class RawItems:
    """A document cut into head (``body[:head_end]``), items and tail (``body[tail_start:]``)."""

    body: bytes
    items: tuple[RawItem, ...]
    head_end: int
    tail_start: int

    def document(self, chosen: tuple[RawItem, ...]) -> bytes:
        """The document with only ``chosen`` items kept (in document order)."""
        parts = [self.body[: self.head_end]]
        parts.extend(self.body[item.start : item.end] for item in chosen)
        parts.append(self.body[self.tail_start :])
        return b"\n".join(parts)

    def shared_guid(self) -> bool:
        """Whether two different items carry the same guid (so guids cannot identify items)."""
        seen: dict[bytes, str] = {}
        for item in self.items:
            if not item.guid_hint:
                continue
            other = seen.setdefault(item.guid_hint, item.digest)
            if other != item.digest:
                return True
        return False


def item_digest(raw: bytes) -> str:
    """A short digest of an item's bytes (enough to tell items of one feed apart)."""
    return hashlib.blake2b(raw, digest_size=_HASH_BYTES).hexdigest()


def cut_items(body: bytes) -> RawItems | None:
    """The document's raw items, or ``None`` when it cannot be cut safely."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")) or b"\x00" in body[:512]:
        return None  # UTF-16/32: byte patterns would lie
    masked = _OPAQUE.sub(lambda m: b" " * len(m.group(0)), body)
    items: list[RawItem] = []
    open_at = -1
    open_name = b""
    for match in _ITEM_TAG.finditer(masked):
        closing, name, rest = match.group(1), match.group(2), match.group(3)
        if not closing:
            if open_at >= 0 or rest.rstrip().endswith(b"/"):
                return None
            open_at, open_name = match.start(), name
            continue
        if open_at < 0 or name != open_name:
            return None
        raw = body[open_at : match.end()]
        guid = _guid(body, open_at, match.start())
        items.append(RawItem(open_at, match.end(), item_digest(raw), guid))
        open_at = -1
    if open_at >= 0 or not items or len({_kind(body, i) for i in items}) > 1:
        return None
    return RawItems(body, tuple(items), items[0].start, items[-1].end)


def _kind(body: bytes, item: RawItem) -> bytes:
    match = _ITEM_TAG.match(body, item.start)
    return match.group(2) if match else b""


def _guid(body: bytes, start: int, end: int) -> bytes:
    # Searched in the original bytes: a guid is often wrapped in CDATA, masked out above.
    found = _GUID.search(body, start, end)
    return found.group(2).strip() if found else b""
