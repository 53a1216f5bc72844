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

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")
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
    """A readable name for a term: the first of each list of alternatives, no ``*``."""
    text = text.strip()
    if text.startswith("re:"):
        return text
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
