"""Canonical ids of vocabulary terms: "INF Treaty", "ДРСМД" and "traité FNI" are all ``inf``. Pure.

A vocabulary entry is a term (a string) or a group ``{id, name, terms}``. Every term of a group
carries the group's id and display name. In a vocabulary with at least one group, a plain term
carries an id derived from its text (``Istanbul Convention`` -> ``istanbul-convention``), so every
term of such a vocabulary names something with an id; vocabularies without groups carry none.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")
_LEMMA = re.compile(r"\{[^{}:]*:([^{}]*)\}")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Canonical:
    """What a term names: a canonical id and the name to show for it."""

    id: str
    name: str


def term_key(text: str) -> str:
    """The key under which a term is compiled once (phrases are the same term in any case)."""
    key = text.strip()
    return key if key.startswith("re:") else key.casefold()


def display_name(text: str) -> str:
    """A readable name for a term: the first of each list of alternatives or lemmas, no ``*``."""
    text = text.strip()
    if text.startswith("re:"):
        return text
    if text.startswith("lemma:"):
        return text.split(":", 2)[-1]
    text = _LEMMA.sub(lambda m: m.group(1).split(",")[0].strip(), text)
    name = _ALTERNATIVES.sub(lambda m: m.group(1).split(",")[0].strip(), text)
    return " ".join(word.rstrip("*") for word in name.split())


def derived_id(text: str) -> str:
    """The id of a plain term of a vocabulary with groups: an ASCII slug of its name.

    A name with no ASCII letters or digits left (Cyrillic, a regex) gets a short digest instead.
    """
    name = display_name(text)
    if not text.strip().startswith("re:"):
        ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = _NOT_SLUG.sub("-", ascii_.casefold()).strip("-")[:63].rstrip("-")
        if slug and ID_PATTERN.match(slug) and len(slug) * 2 >= len(name):
            return slug
    return "term-" + hashlib.sha256(term_key(text).encode()).hexdigest()[:10]


_GROUP_KEYS = ("id", "name", "terms")


@dataclass(frozen=True, slots=True)
class GroupError:
    """Why a group entry is invalid, and which of its fields (``""``: the entry) to point at."""

    message: str
    field: str = ""
    key: bool = False  # point at the key rather than its value

    @property
    def field_path(self) -> tuple[str, ...]:
        """The field as a path suffix (empty for the entry itself)."""
        return (self.field,) if self.field else ()


def parse_group(
    item: dict[str, Any], used: dict[str, int]
) -> tuple[Canonical, list[Any]] | GroupError:
    """A group ``{id, name, terms}`` as its canonical id and name and its raw terms; ``used``
    maps the ids already used in the vocabulary to their line."""
    unknown = sorted(set(item) - set(_GROUP_KEYS), key=str)
    if unknown:
        return GroupError(f"unknown key {unknown[0]!r} (a group has id, name and terms)",
                          str(unknown[0]), key=True)  # fmt: skip
    group_id, terms, name = item.get("id"), item.get("terms"), item.get("name")
    if not isinstance(group_id, str) or not ID_PATTERN.match(group_id):
        message = "expected an id of lower-case letters, digits and hyphens (like inf or new-start)"
        return GroupError(message, "id")
    if group_id in used:
        return GroupError(f"id {group_id!r} is already used on line {used[group_id]}", "id")
    if not isinstance(terms, list) or not terms:
        return GroupError("expected a non-empty list of terms", "terms")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        return GroupError("expected a name", "name")
    shown = name.strip() if isinstance(name, str) else display_name(str(terms[0]))
    return Canonical(group_id, shown), terms
