"""Spellings writers use for one word: the marks they leave off. Pure.

French (and often Spanish) capitals are printed without their accents ("Etats-Unis", "Equateur",
"Africa"), and Russian print writes ``ё`` as ``е`` almost everywhere. A name or term written with
such a mark also matches its unmarked spelling. German umlauts, ``ñ`` and ``й`` are letters of
their own, never dropped; a lower-case French or Spanish accent is not dropped either.
"""

from __future__ import annotations

_UNMARKED = str.maketrans(
    {
        **dict.fromkeys("ÀÂÁ", "A"),
        **dict.fromkeys("ÉÈÊË", "E"),
        **dict.fromkeys("ÎÏÍ", "I"),
        **dict.fromkeys("ÔÓ", "O"),
        **dict.fromkeys("ÙÛÚ", "U"),
        "Ç": "C",
        "Ё": "Е",
        "ё": "е",
    }
)


def unmarked(text: str) -> str:
    """``text`` without the marks writers leave off ("États-Unis" -> "Etats-Unis")."""
    return text.translate(_UNMARKED)
