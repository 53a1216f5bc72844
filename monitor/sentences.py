"""Where sentences end in news text, and an entry's lead (its opening sentence). Pure.

Shared by the rules (``same_sentence``, the ``lead`` field) and anything else that needs to know
where a sentence stops; abbreviations such as "U.S.", "Dr." or "EE.UU." do not end one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A sentence ends at . ! ? … (and CJK stops) followed by space, or at a line break.
SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*\s+|\n+")
_ABBREVIATION = re.compile(
    r"(?:^|\W)(?:\w|mr|mrs|ms|dr|st|no|vs|etc|gen|sen|rep|gov|jan|feb|mar|apr|jun|jul|aug|sep|"
    r"sept|oct|nov|dec|approx|art|para|cf|e\.g|i\.e|sr|sra|mme|nr|bzw|z\.b|ca)\.$"
    # initialisms of doubled letters: "EE.UU." (Spanish for U.S.), "FF.AA."
    r"|(?:^|\W)(?:\w{1,2}\.){2,}$",
    re.IGNORECASE,
)
# A German ordinal is no sentence end: "am 15. Januar", "als 55. Mitglied", "182. Mitglied der
# Vereinten Nationen", "zum 31. Dezember" (a number of up to three digits, its dot, and a month
# or a noun that counts; a year before a full stop, "in 1987. The", still ends one).
_ORDINAL = re.compile(r"(?:^|[^\w.])\d{1,3}\.$")
_COUNTED = re.compile(
    r"(?:januar|jänner|februar|märz|april|mai|juni|juli|august|september|oktober|november|"
    r"dezember|mitglied|mitgliedstaat|mitgliedsstaat|staat|vertragsstaat|land|jahrestag|"
    r"geburtstag|jahrhundert|runde|sitzung|tagung|gipfel|artikel|mal)\w*\b",
    re.IGNORECASE,
)
# A lead longer than this is cut at a word: a summary with no full stop is not one sentence.
_MAX_LEAD = 400


def sentence_ends(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence-ending run in ``text[start:end]``, abbreviations skipped."""
    stop = len(text) if end is None else end
    for found in SENTENCE_END.finditer(text, start, stop):
        dot = found.start()
        if found.group()[0] == "." and (
            _ABBREVIATION.search(text, max(0, dot - 8), dot + 1)
            or (
                _ORDINAL.search(text, max(0, dot - 5), dot + 1)
                and _COUNTED.match(text, found.end())
            )
        ):
            continue
        yield found.start(), found.end()


def lead_end(text: str) -> int:
    """Where the opening sentence of ``text`` ends (about 400 characters at most)."""
    begin = len(text) - len(text.lstrip())
    for start, _ in sentence_ends(text, begin):
        if start > begin:
            return min(start + 1, begin + _MAX_LEAD + 1)
    if len(text) - begin <= _MAX_LEAD:
        return len(text)
    cut = text.rfind(" ", begin, begin + _MAX_LEAD)
    return cut if cut > begin else begin + _MAX_LEAD


def first_sentence(text: str) -> str:
    """The opening sentence of ``text`` (at most about 400 characters), stripped."""
    return text[: lead_end(text)].strip()
