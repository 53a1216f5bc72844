"""Lemmas to their inflected forms, for ``{ru:выйти}`` and ``lemma:de:austreten`` terms.

A rule names a word once, by its dictionary form, instead of keeping a hand-written list of its
forms. The forms come from the libraries' own dictionaries: pymorphy3 (OpenCorpora) for Russian,
simplemma's form-to-lemma tables for German, French, Spanish and English, inverted here. The
result is a plain tuple of case-folded words that the term compiler turns into an inflection list
like ``[a, b, c]``, so the expansion costs nothing per entry: it is part of the one scan.

The dictionaries load lazily, the first time a lemma of their language is expanded: pymorphy3's
analyser in about 0.3 s (30 MB), a simplemma table with its inversion in 0.3-1.5 s (German: 160
MB). A compile releases them when it is done (:func:`release`), since a daemon would otherwise
carry them for good; the expansions stay cached, so a reload that compiles the same terms again
does no morphology at all, and only a new lemma loads its dictionary again
(:mod:`monitor.rules.lemmacache` keeps them on disk for the next process). Pure: reads only the
dictionaries the packages ship.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# Bump when a change here changes what an expansion returns: it names the on-disk cache.
VERSION = 1
RUSSIAN = "ru"
# simplemma ships tables for 50-odd languages; these are the ones the rule pack writes in.
SIMPLEMMA_LANGUAGES = ("de", "en", "es", "fr")
LANGUAGES = (RUSSIAN, *SIMPLEMMA_LANGUAGES)
# A form that can stand in an inflection list: letters, digits, apostrophes, inner hyphens.
_FORM = re.compile(r"^\w+(?:['\u2019\-]\w+)*$")


class LemmaError(ValueError):
    """A lemma cannot be expanded (unknown language or word); the message says why."""


def expand(language: str, lemma: str) -> tuple[str, ...]:
    """Every inflected form of ``lemma`` in ``language``, case-folded, the lemma first."""
    if language not in LANGUAGES:
        raise LemmaError(
            f"unsupported language {language!r} for a lemma (supported: {', '.join(LANGUAGES)})"
        )
    word = lemma.strip()
    if not word or not _FORM.match(word):
        raise LemmaError(f"{lemma!r} is not a single word")
    if language == RUSSIAN:
        return _russian(word.casefold())
    return _simplemma(language, word)


@functools.cache
def _analyzer() -> Any:
    import pymorphy3  # imported here: only rule sets with Russian lemmas pay its start-up

    return pymorphy3.MorphAnalyzer()


def _yo(word: str) -> str:
    return word.replace("ё", "е")


@functools.lru_cache(maxsize=8192)
def _russian(lemma: str) -> tuple[str, ...]:
    """All forms of every lexeme whose normal form is ``lemma``, with ``ё`` also spelled ``е``.

    A verb brings its finite forms, infinitive, imperative, gerunds and participles (full and
    short): news writes "денонсированный договор" and "вышедшая из договора страна" as often as
    "денонсировала". A lexeme is pymorphy3's word with its aspect: "выйти" does not bring
    "выходить".
    """
    parses = _analyzer().parse(lemma)
    own = [p for p in parses if p.is_known and _yo(p.normal_form) == _yo(lemma)]
    if not own:
        known = sorted({p.normal_form for p in parses if p.is_known})
        if known:
            raise LemmaError(
                f"{lemma!r} is not a dictionary form for pymorphy3; it reads it as a form of "
                + ", ".join(repr(k) for k in known)
            )
        raise LemmaError(f"pymorphy3 does not know {lemma!r}")
    forms: dict[str, None] = {lemma: None}
    for parse in own:
        for form in parse.lexeme:
            forms[form.word] = None
    return _with_plain_e(forms)


def _with_plain_e(forms: dict[str, None]) -> tuple[str, ...]:
    # Most Russian text writes ё as е; the dictionary writes ё. Both spellings must match.
    spelled: dict[str, None] = {}
    for form in forms:
        spelled[form.casefold()] = None
        spelled[_yo(form.casefold())] = None
    return tuple(f for f in spelled if _FORM.match(f))


@functools.cache
def _table(language: str) -> dict[bytes, bytes]:
    """simplemma's form -> lemma table for ``language``, as it ships it (UTF-8 bytes)."""
    from simplemma.strategies.dictionaries.dictionary_factory import (
        _load_dictionary_from_disk,
    )

    table: dict[bytes, bytes] = _load_dictionary_from_disk(language)
    return table


@functools.cache
def _inverted(language: str) -> dict[bytes, list[bytes]]:
    """The table turned around, lemma -> forms; kept in bytes (decoding 700,000 keys is slow)."""
    inverted: dict[bytes, list[bytes]] = {}
    for form, lemma in _table(language).items():
        forms = inverted.get(lemma)
        if forms is None:
            inverted[lemma] = [form]
        else:
            forms.append(form)
    return inverted


def _spellings(word: str) -> tuple[bytes, ...]:
    # As written first ("Verstoß": case folding would make it "verstoss"), then lower case and
    # capitalised: the tables write German nouns capitalised ("Austritt"), everything else lower.
    lower = word.lower()
    return tuple(dict.fromkeys(w.encode() for w in (word, lower, lower.capitalize())))


@functools.lru_cache(maxsize=8192)
def _simplemma(language: str, lemma: str) -> tuple[str, ...]:
    """The forms simplemma maps to ``lemma``; the lemma itself is always one of them.

    simplemma's table gives each form one lemma, so a form shared by two words ("quitte": the
    adjective and a form of "quitter") is listed under one of them only; adding the lemma itself
    keeps at least the dictionary form.
    """
    inverted = _inverted(language)
    # The first spelling the table knows: "Treffen" is the noun, "treffen" the verb.
    found = next((inverted[key] for key in _spellings(lemma) if key in inverted), [])
    if not found:
        table = _table(language)
        other = next((table[k] for k in _spellings(lemma) if k in table), None)
        if other is not None:
            raise LemmaError(
                f"{lemma!r} is not a lemma in simplemma's {language!r} dictionary; "
                f"it reads it as a form of {other.decode()!r}"
            )
        raise LemmaError(f"simplemma's {language!r} dictionary does not know {lemma!r}")
    ordered: dict[str, None] = {lemma.casefold(): None}
    ordered.update(dict.fromkeys(form.decode().casefold() for form in found))
    return tuple(f for f in ordered if _FORM.match(f))


def release() -> None:
    """Drop the loaded dictionaries (the expansions made so far stay cached)."""
    _analyzer.cache_clear()
    _table.cache_clear()
    _inverted.cache_clear()


def dictionaries_loaded() -> int:
    """How many dictionaries are in memory now (pymorphy3's analyser, simplemma tables)."""
    return _analyzer.cache_info().currsize + _table.cache_info().currsize


def cache_info() -> dict[str, int]:
    """How many expansions each cache holds and how many were served from it (for tests)."""
    russian = _russian.cache_info()
    other = _simplemma.cache_info()
    return {
        "hits": russian.hits + other.hits,
        "misses": russian.misses + other.misses,
        "size": russian.currsize + other.currsize,
    }
