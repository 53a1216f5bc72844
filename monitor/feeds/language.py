"""Entry language: the tags feeds give, normalised, and a detector for entries that give none.

Pure: text in, a lower-case ISO 639-1 code out ("" when unknown). Which source wins is decided
by :func:`first_language` (the parser passes feed config > entry ``xml:lang`` > channel language,
and only then asks the detector).

The detector pairs two libraries because neither alone is both accurate on a headline and cheap
(measured on the labelled corpora by ``benchmarks/language_detect.py``): lingua is the most
accurate on short text but costs 100-300 µs per headline; CLD2 (pycld2) costs ~10-25 µs but
guesses wrong on short text (a French headline read as English). So text of ``short_text``
characters or more goes to CLD2 first, and its answer is kept when CLD2 calls it reliable and it
is one of the detected languages; short text, and whatever CLD2 is unsure of, goes to lingua,
restricted to ``DETECTED_LANGUAGES`` (fewer candidates: faster and fewer confusions such as es/pt
on a title). lingua runs in its low-accuracy mode (trigrams only: ~20 MB of models per process)
unless ``accurate`` (1- to 5-grams: ~250 MB per process, a third of the errors on headlines).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lingua import LanguageDetector

_ISO_639_1_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh
    zu"""
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())
# Withdrawn codes still seen in feeds (and returned by CLD2 for Hebrew).
_RENAMED = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}

# The UN's six, and the other languages treaty news is commonly published in.
DETECTED_LANGUAGES = ("ar", "de", "en", "es", "fa", "fr", "he", "ja", "ko", "ru", "uk", "zh")

DetectionMode = Literal["fast", "accurate", "off"]

_TAG_SPLIT = re.compile(r"[-_\s.]")
_SHORT_TEXT = 100
_MAX_TEXT = 1000


def normalise_language(tag: object) -> str:
    """ISO 639-1 code of a language tag ("en-US", "EN_gb" → "en"); "" for anything else."""
    if not isinstance(tag, str):
        return ""
    primary = _TAG_SPLIT.split(tag.strip(), maxsplit=1)[0].lower()
    primary = _RENAMED.get(primary, primary)
    return primary if primary in ISO_639_1 else ""


def first_language(tags: Iterable[object]) -> str:
    """The first tag that names a language, normalised; "" when none does."""
    for tag in tags:
        code = normalise_language(tag)
        if code:
            return code
    return ""


def detection_text(title: str, summary: str, content: str = "") -> str:
    """The text the detector reads: title and summary (content if no summary), capped."""
    body = summary or content
    text = f"{title}\n{body}" if title and body else title or body
    return text[:_MAX_TEXT]


class Detector:
    """Detect the language of plain text; configured once, then a pure call per text."""

    def __init__(
        self,
        languages: Iterable[str] = DETECTED_LANGUAGES,
        *,
        short_text: int = _SHORT_TEXT,
        accurate: bool = False,
    ) -> None:
        # Imported here: the config and rule schema use the codes above without the detectors.
        import pycld2
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        codes = sorted({normalise_language(code) for code in languages} - {""})
        if len(codes) < 2:
            raise ValueError("language detection needs at least two languages to choose from")
        try:
            isos = [getattr(IsoCode639_1, code.upper()) for code in codes]
        except AttributeError as exc:
            raise ValueError(f"language detection does not know {exc.name!r}") from None
        self.languages = frozenset(codes)
        self.short_text = short_text
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*isos)
        if not accurate:
            # All trigram models now (~18 MB, ~0.2 s CPU): no document pays for loading one.
            builder = builder.with_low_accuracy_mode().with_preloaded_language_models()
        # else models load lazily, per language (up to ~40 MB and ~0.5 s each), when first needed.
        self._lingua: LanguageDetector = builder.build()
        self._cld2_detect, self._cld2_error = pycld2.detect, pycld2.error

    def __call__(self, text: str) -> str:
        """The ISO 639-1 code of ``text``'s language, or "" when there is too little to tell."""
        text = text.strip()
        if not any(ch.isalpha() for ch in text[:200]):
            return ""
        if len(text) >= self.short_text:
            code = self._cld2(text)
            if code:
                return code
        found = self._lingua.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found is not None else ""

    def _cld2(self, text: str) -> str:
        try:
            reliable, _bytes, details = self._cld2_detect(text, isPlainText=True)
        except self._cld2_error:  # e.g. lone surrogates: not valid UTF-8
            return ""
        code = normalise_language(details[0][1]) if reliable and details else ""
        return code if code in self.languages else ""


@functools.cache
def detector_for(mode: DetectionMode) -> Detector | None:
    """The detector of a ``fetch.language_detection`` mode, one per process (building one is
    cheap, its loaded models are not); ``None`` for ``off``."""
    return None if mode == "off" else Detector(accurate=mode == "accurate")


def default_detector() -> Detector:
    """The detector of the default mode, ``fast``."""
    detector = detector_for("fast")
    assert detector is not None
    return detector
