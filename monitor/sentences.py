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
# A lead longer than this is cut at a word: a summary with no full stop is not one sentence.
_MAX_LEAD = 400


def sentence_ends(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence-ending run in ``text[start:end]``, abbreviations skipped."""
    stop = len(text) if end is None else end
    for found in SENTENCE_END.finditer(text, start, stop):
        dot = found.start()
        if found.group()[0] == "." and _ABBREVIATION.search(text, max(0, dot - 8), dot + 1):
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
