"""Offsets in case-folded text map back to the characters they came from."""

from __future__ import annotations

import pytest

from monitor.rules.offsets import OffsetMap


def _reference(text: str, start: int, end: int) -> tuple[int, int]:
    owner = [index for index, char in enumerate(text) for _ in char.casefold()]
    return owner[start], owner[end - 1] + 1


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii text",
        "Die Straße ist groß, die STRASSE auch",
        "ﬁnal ﬂow: ǰ ß ΐ İstanbul — straße",
        "ßßß",
        "Ünïcödé without long folds",
    ],
)
def test_every_folded_span_maps_back_as_a_per_character_owner_table_says(text: str) -> None:
    """Each span of the folded text maps to the original span the owner table gives."""
    offsets = OffsetMap(text)
    folded = text.casefold()
    for start in range(len(folded)):
        for end in range(start + 1, len(folded) + 1):
            assert offsets.span(start, end) == _reference(text, start, end)


def test_a_span_after_an_eszett_points_at_the_original_word() -> None:
    """ "gross" found after "Straße" in folded text is shown as the original "GROSS"."""
    text = "Straße GROSS"
    folded = text.casefold()
    start = folded.index("gross")
    begin, end = OffsetMap(text).span(start, start + 5)
    assert text[begin:end] == "GROSS"
