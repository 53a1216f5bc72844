"""Terms, the leaves of a rule: phrases, word forms, inflection lists, lemmas and regexes.

A term compiles to two things: literals (or a linear-time pattern) for the multi-pattern prefilter
scan, and an exact matcher that finds its spans in case-folded text on Unicode word boundaries.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from re import _parser  # type: ignore[attr-defined]
from typing import Any, Generic, Protocol, TypeVar

import re2

from monitor.rules import morphology
from monitor.rules.morphology import LemmaError
from monitor.spelling import unmarked

# language, lemma -> its forms (:func:`monitor.rules.morphology.expand`, or a cache in front of it)
Expand = Callable[[str, str], tuple[str, ...]]

# Whitespace and the hyphens/dashes people put between words ("Intermediate-Range", "60‑day").
SEPARATOR = r"[\s\-\u2010\u2011\u2012\u2013\u2014]+"
_WORD_SPLIT = re.compile(SEPARATOR)


@dataclass(frozen=True, slots=True)
class _Flavour:
    """How one regex engine spells a separator run and the letters of a word form."""

    separator: str
    letters: str


# Python's re knows Unicode \s and \w; RE2's are ASCII, so it gets Unicode classes spelled out.
_PYTHON = _Flavour(SEPARATOR, r"\w*")
_RE2 = _Flavour(r"[\s\p{Z}\x{85}\-\x{2010}-\x{2014}]+", r"[\p{L}\p{N}_]*")
_TOKENS = re.compile(r"\[[^\[\]]*\]|\{[^{}]*\}|[^\s\[\]{}]+")
_LEMMA_TERM = "lemma:"
_SHORT_LITERAL = 3  # literals shorter than this are poor filters (as in the scan's word pieces)
# Python's re accepting at least every RE2-flavoured match: its \s holds RE2's \s, \p{Z} and
# \x85, and no letter or digit is a space or a dash. A cheap first look before RE2 is asked.
_WIDER = _Flavour(SEPARATOR, r"[^\s\-\u2010-\u2014]*")
# RE2's separator spelled for Python's re, character for character: RE2's \s is [\t\n\f\r ],
# \p{Z} is Zs, Zl and Zp (a test compares the two over every code point). Word forms have no
# such twin: RE2 and Python disagree on which characters are letters of recent Unicode versions.
RE2_SEPARATOR_TWIN = (
    r"[\t\n\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\-\u2010-\u2014]+"
)
_TWIN = _Flavour(RE2_SEPARATOR_TWIN, "")
_MIN_PREFIX = 2
# Shorter beginnings ("to", "a") occur everywhere: finding them would cost more than it saves.
MIN_START = 3
_RE2_MIN_ALTERNATIVES = 4
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_APOSTROPHES = re.compile("['\u2019\u02bc]")
T = TypeVar("T")
_ANY_APOSTROPHE = "['\u2019\u02bc]"


class TermError(ValueError):
    """A term cannot be compiled; the message says why."""


class _Finder(Protocol):
    def finditer(self, text: str) -> Iterator[_Found]: ...


class _Found(Protocol):
    def span(self) -> tuple[int, int]: ...


class Lazy(Generic[T]):
    """A compiled pattern (Python's ``re`` or RE2) built when first asked for.

    A pack spells and compiles some 3,000 phrase patterns, most of which an entry never needs:
    at start-up that was half of a one-shot command's time. What a term means is checked when it
    is compiled; building its patterns cannot fail (a race at worst builds one twice)."""

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._built: T | object = _UNBUILT

    def get(self) -> T:
        """The built pattern."""
        if self._built is _UNBUILT:
            self._built = self._build()
        return self._built  # type: ignore[return-value]


_UNBUILT = object()


@dataclass(frozen=True, slots=True)
class Term:
    """A compiled term. ``literals`` (or ``regex``) feed the prefilter scan."""

    source: str
    literals: tuple[str, ...]
    regex: str | None
    lazy_finder: Lazy[Any] = field(compare=False)
    checks_boundaries: bool
    literal: str | None = None  # the whole term is this one literal: found by substring search
    # Per word position, per alternative, the pieces of its words every match contains verbatim.
    pieces: tuple[tuple[tuple[str, ...], ...], ...] = ()
    # What every match begins with verbatim: one prefix per alternative of the first word position
    # (its first word up to any apostrophe). Empty when one is too short to be worth a scan
    # pattern: the term's spans are then searched for over the whole text.
    starts: tuple[str, ...] = ()
    # For an RE2 finder: a Python pattern matching wherever it does (and maybe elsewhere), to
    # rule offsets out at a fraction of the cost of a call into RE2; and, when the term has no
    # word form, its exact twin for Python (same matches, same choices among alternatives).
    wider: Lazy[re.Pattern[str]] | None = field(default=None, compare=False)
    twin: Lazy[re.Pattern[str]] | None = field(default=None, compare=False)
    # For a regex term: its pattern preferring a match that ends on a word boundary, asked
    # where the finder's own match does not (see :func:`boundary_spans`); built when first used.
    lazy_bounded: Lazy[Any] | None = field(default=None, compare=False)

    @property
    def finder(self) -> Any:
        """The exact matcher: a compiled ``re`` pattern or an RE2 one (built when first used)."""
        return self.lazy_finder.get()

    @property
    def bounded(self) -> Any:
        """A regex term's :func:`_ending_on_a_boundary` pattern (RE2), if it has one."""
        return None if self.lazy_bounded is None else self.lazy_bounded.get()

    def prepare(self) -> None:
        """Build every pattern now (a daemon does it off its event loop, before matching)."""
        for lazy in (self.lazy_finder, self.wider, self.twin, self.lazy_bounded):
            if lazy is not None:
                lazy.get()

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of every match in case-folded ``text``."""
        if self.literal is not None:
            yield from literal_spans(text, self.literal)
        elif self.checks_boundaries:
            yield from boundary_spans(self.finder, text, bounded=self.bounded)
        else:
            for found in self.finder.finditer(text):
                start, end = found.span()
                if end > start:
                    yield start, end


def is_word_char(char: str) -> bool:
    """Whether ``char`` is part of a word (letters and digits of every script, underscore)."""
    return char.isalnum() or char == "_"


def on_boundaries(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` begins and ends on word boundaries (Unicode-aware).

    :func:`is_word_char` spelled out: this runs for every candidate hit of every entry.
    """
    if start > 0:
        before, first = text[start - 1], text[start]
        if (before.isalnum() or before == "_") and (first.isalnum() or first == "_"):
            return False
    if end < len(text):
        last, after = text[end - 1], text[end]
        if (last.isalnum() or last == "_") and (after.isalnum() or after == "_"):
            return False
    return True


# "[$expulsions, $staying_in]" reads as the words "$expulsions" and "$staying_in"
_VOCABULARY_INSIDE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


def compile_term(source: str, expand: Expand = morphology.expand) -> Term:
    """Compile one term as written in a rule file; raises :class:`TermError`.

    ``expand`` gives a lemma's forms (default: straight from the dictionaries)."""
    text = source.strip()
    if not text:
        raise TermError("empty term")
    if text.startswith("$"):
        raise TermError(f"vocabulary reference {text!r} cannot be compiled as a term")
    if text.startswith("re:"):
        return _compile_regex(text, text[3:])
    inner = _VOCABULARY_INSIDE.search(text)
    if inner:
        raise TermError(
            f"{inner.group(0)!r} inside a term is text, not a vocabulary: "
            f"write any: [$a, $b] to match either vocabulary"
        )
    if text.startswith(_LEMMA_TERM):
        return _compile_lemma_term(text, expand)
    return _compile_phrase(text, expand)


def _compile_lemma_term(source: str, expand: Expand) -> Term:
    """``lemma:ru:выйти``: the whole term is one word in any of its forms (``{ru:выйти}``)."""
    spec = source[len(_LEMMA_TERM) :]
    if not spec or any(c in spec for c in " \t[]{}"):
        raise TermError(
            f"{source!r}: expected 'lemma:LANGUAGE:WORD' (one word, e.g. 'lemma:ru:выйти'); "
            "inside a phrase write the word as {LANGUAGE:WORD}, e.g. '{ru:выход} из'"
        )
    return _compile_phrase("{" + spec + "}", expand, shown=source)


def _lemma_forms(token: str, source: str, expand: Expand) -> list[list[str]]:
    """The alternatives of a ``{ru:выход}`` word: every form of the lemma (or lemmas)."""
    language, colon, lemmas = token[1:-1].partition(":")
    language = language.strip()
    if not colon or not language or not lemmas.strip():
        raise TermError(
            f"lemma {token!r} needs a language and a word, e.g. {{ru:выход}} or "
            f"{{de:austreten}} (in {source!r})"
        )
    forms: dict[str, None] = {}
    for lemma in lemmas.split(","):
        try:
            forms.update(dict.fromkeys(expand(language, lemma)))
        except LemmaError as exc:
            raise TermError(f"{exc} (in {source!r})") from None
    return [_words(form, source) for form in forms]


def _compile_phrase(text: str, expand: Expand, shown: str | None = None) -> Term:
    source = shown or text
    positions: list[list[list[str]]] = []  # word positions -> alternatives -> words
    # A lemma is looked up as written ("Verstoß" is a German lemma, its case-folded "verstoss"
    # a form of another); everything else is case-folded, as the text will be.
    # Words are case-folded by _spellings, after their unmarked spelling is read off the case
    # they are written in ("États" is also "Etats"; "états" is not also "etats").
    for written in _TOKENS.findall(text):
        if written.startswith("{"):
            positions.append(_lemma_forms(written, source, expand))
        elif written.startswith("["):
            alternatives = [a.strip() for a in written[1:-1].split(",")]
            if any("{" in a or "}" in a for a in alternatives):
                raise TermError(
                    f"a lemma cannot stand inside an inflection list ({written!r}); "
                    "write it as a word of its own"
                )
            if len(alternatives) < 2 or not all(alternatives):
                raise TermError(
                    f"inflection list {written!r} needs at least two non-empty alternatives "
                    "separated by commas"
                )
            positions.append(
                _unique(
                    spelling for a in alternatives for spelling in _spellings(_words(a, source))
                )
            )
        else:
            positions.extend(_spellings([word]) for word in _words(written, source))
    if not positions:
        raise TermError(f"term {source!r} has no words")
    rest = _TOKENS.sub("", text)
    if any(bracket in rest for bracket in "[]{}"):
        raise TermError(f"unbalanced '[', ']', '{{' or '}}' in term {source!r}")
    single = (
        positions[0][0][0]
        if len(positions) == 1 and len(positions[0]) == 1 and len(positions[0][0]) == 1
        else ""
    )
    # Boundaries are checked after the match, not in the pattern: a pattern that starts with a
    # literal lets Python's re jump straight to candidates. One that starts with a long list of
    # alternatives makes re try each at every position (16 country names: 0.3 ms per 3 KB);
    # RE2's automaton runs that ten times faster, but its Python wrapper costs more on short
    # lists such as word forms ([serve, serves, served]), which re handles well.
    finder: Lazy[Any]
    wider = twin = None
    if len(positions[0]) >= _RE2_MIN_ALTERNATIVES:
        finder = Lazy(lambda: _re2_or_python(positions))
        wider = Lazy(lambda: re.compile(_pattern(positions, _WIDER)))
        if not any(w.endswith("*") for p in positions for words in p for w in words):
            twin = Lazy(lambda: re.compile(_pattern(positions, _TWIN, order=_RE2)))
    else:
        finder = Lazy(lambda: re.compile(_pattern(positions, _PYTHON)))
    return Term(
        source=source,
        literals=_prefilter_literals(positions),
        regex=None,
        lazy_finder=finder,
        checks_boundaries=True,
        literal=single if single and not single.endswith("*") else None,
        pieces=_pieces(positions),
        starts=_starts(positions),
        wider=wider,
        twin=twin,
    )


def _spellings(words: list[str]) -> list[list[str]]:
    """The case-folded words as written and, if it differs, as writers also spell them without
    the marks they leave off (:func:`monitor.spelling.unmarked`)."""
    written = [w.casefold() for w in words]
    bare = [unmarked(w).casefold() for w in words]
    return [written] if bare == written else [written, bare]


def _unique(alternatives: Iterable[list[str]]) -> list[list[str]]:
    """The alternatives in order, each once ("États" and "Etats" both written in one list)."""
    return [list(a) for a in dict.fromkeys(tuple(a) for a in alternatives)]


def _re2_or_python(positions: list[list[list[str]]]) -> _Finder:
    """The phrase's RE2 finder; Python's, should RE2 refuse it (a program over RE2's memory
    budget: a finder is built when first used, where it may no longer fail)."""
    try:
        return re2.compile(_pattern(positions, _RE2), _OPTIONS)  # type: ignore[no-any-return]
    except re2.error:
        return re.compile(_pattern(positions, _PYTHON))


def _words(text: str, source: str) -> list[str]:
    words = [w for w in _WORD_SPLIT.split(text) if w]
    for word in words:
        if "*" in word[:-1]:
            raise TermError(f"'*' may only end a word (in {source!r})")
        if word.endswith("*") and len(word) - 1 < _MIN_PREFIX:
            raise TermError(
                f"word form {word!r} needs at least {_MIN_PREFIX} letters before '*' "
                f"(in {source!r})"
            )
    return words


def _pattern(
    positions: list[list[list[str]]], flavour: _Flavour, order: _Flavour | None = None
) -> str:
    """The pattern in ``flavour``, alternatives ordered as in ``order`` (default: the same)."""
    return flavour.separator.join(_position_pattern(p, flavour, order) for p in positions)


def _word_pattern(word: str, flavour: _Flavour) -> str:
    stem, star = (word[:-1], flavour.letters) if word.endswith("*") else (word, "")
    # Typographic and straight apostrophes are the same letter to a reader ("Russia’s").
    return _APOSTROPHES.sub(_ANY_APOSTROPHE, re.escape(stem)) + star


def _position_pattern(
    alternatives: list[list[str]], flavour: _Flavour, order: _Flavour | None = None
) -> str:
    def spelled(words: list[str], flavour: _Flavour) -> str:
        return flavour.separator.join(_word_pattern(w, flavour) for w in words)

    # Alternation is leftmost-first and boundaries are checked after the match: with "expire"
    # before "expires", "expires" would be cut at "expire" and then fail the boundary check.
    # (A stable sort by the length of the pattern as ``order`` spells it.)
    ranked = sorted(
        alternatives, key=lambda words: len(spelled(words, order or flavour)), reverse=True
    )
    patterns = [spelled(words, flavour) for words in ranked]
    return patterns[0] if len(patterns) == 1 else "(?:" + "|".join(patterns) + ")"


def _pieces(positions: list[list[list[str]]]) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """What a match holds verbatim: the words' stems, split at apostrophes (any one will do)."""
    return tuple(
        tuple(
            tuple(piece for w in words for piece in _APOSTROPHES.split(w.rstrip("*")) if piece)
            for words in alternatives
        )
        for alternatives in positions
    )


def _starts(positions: list[list[list[str]]]) -> tuple[str, ...]:
    """The verbatim beginnings of the first position's alternatives (see :attr:`Term.starts`)."""
    found = tuple(
        dict.fromkeys(_APOSTROPHES.split(words[0].rstrip("*"))[0] for words in positions[0])
    )
    return found if all(len(start) >= MIN_START for start in found) else ()


def _prefilter_literals(positions: list[list[list[str]]]) -> tuple[str, ...]:
    """Literals of which at least one occurs wherever the term matches: the rarest-looking ones."""

    def longest(words: list[str]) -> str:
        pieces = (piece for w in words for piece in _APOSTROPHES.split(w.rstrip("*")))
        return max(pieces, key=len)

    best: tuple[str, ...] = ()
    best_score = -1.0
    for alternatives in positions:
        literals = _without_containing(tuple(longest(words) for words in alternatives))
        # A single long literal filters best; each extra alternative weakens the filter. A one-
        # or two-letter word ("из", "de") occurs in nearly every text of its language: it loses
        # to any position of real words, such as a lemma's forms.
        shortest = min(len(lit) for lit in literals)
        score = shortest / len(literals) / (1 if shortest >= _SHORT_LITERAL else 100)
        if score > best_score:
            best, best_score = literals, score
    return best


def _without_containing(literals: tuple[str, ...]) -> tuple[str, ...]:
    """The literals that contain no other of them: "выход" is found wherever "выхода" is.

    A lemma's forms mostly begin with a shorter form ("выход", "выхода", "выходом", ...), so this
    keeps its prefilter to a handful of literals.
    """
    by_length = sorted(dict.fromkeys(literals), key=len)
    kept: list[str] = []
    for literal in by_length:
        if not any(shorter in literal for shorter in kept):
            kept.append(literal)
    return tuple(lit for lit in dict.fromkeys(literals) if lit in kept)


_FORBIDDEN = {
    "GROUPREF": "back-references (\\1, (?P=name)) are not supported by the linear-time engine",
    "GROUPREF_EXISTS": "conditional groups are not supported by the linear-time engine",
    "ASSERT": "look-ahead/look-behind is not supported by the linear-time engine",
    "ASSERT_NOT": "negative look-ahead/look-behind is not supported by the linear-time engine",
    "ATOMIC_GROUP": "atomic groups are not supported by the linear-time engine",
    "POSSESSIVE_REPEAT": "possessive quantifiers are not supported by the linear-time engine",
}


def _compile_regex(source: str, pattern: str) -> Term:
    if not pattern:
        raise TermError("empty regular expression after 're:'")
    pattern = _outer_boundaries_dropped(pattern).translate(_FOLDED_LETTERS)
    tree = _reject_unsupported(pattern)
    try:
        plain = re2.compile("(?i)" + pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise TermError(f"invalid regular expression {pattern!r}: {detail}") from None
    if plain.search("") is not None:
        raise TermError(f"regular expression {pattern!r} matches the empty string")
    if END_GROUP in plain.groupindex:
        raise TermError(f"in {pattern!r}: the group name {END_GROUP!r} is reserved")
    literal = _required_literal(tree) if tree is not None else None
    return Term(
        source=source,
        literals=(literal,) if literal else (),
        regex=None if literal else pattern,
        lazy_finder=Lazy(lambda: plain),
        checks_boundaries=True,
        starts=_regex_starts(tree) if tree is not None else (),
        lazy_bounded=Lazy(lambda: _bounded_or_none(pattern)),
    )


# A regex whose matches may begin with more literals than this is searched for over the text.
_MAX_REGEX_STARTS = 24
_LONG_START = 6
_ZERO_WIDTH = frozenset({"AT_BOUNDARY", "AT_NON_BOUNDARY"})


def _regex_starts(tree: Any) -> tuple[str, ...]:
    """What every match of a regex term begins with verbatim, as for a phrase (see
    :attr:`Term.starts`): the literal characters its pattern opens with, one string per way it
    can open ("(?:retirar|sacar)(?:á|ía)? a" opens with "retirar" or "sacar"), or nothing when
    one way opens with fewer than :data:`MIN_START` (or with a class, a repeat, an anchor).

    The text is case-folded and the pattern caseless, so a letter stands for itself in lower
    case; a letter that folds to something else ("ß", "İ") ends the beginning."""
    found = _opened(list(tree), {""})
    if found is None:
        return ()
    open_, closed = found
    every = sorted(open_ | closed)
    # "sacará" begins wherever "sacará " does: the longer one adds nothing
    starts = tuple(s for s in every if not any(s != o and s.startswith(o) for o in every))
    if not starts or len(starts) > _MAX_REGEX_STARTS:
        return ()
    return starts if all(len(start) >= MIN_START for start in starts) else ()


def _opened(items: list[Any], open_: set[str]) -> tuple[set[str], set[str]] | None:
    """Walk ``items`` from the beginnings ``open_``: (beginnings still growing, those ended).
    ``None``: the pattern can open in a way no literal beginning describes."""
    closed: set[str] = set()
    for op, arg in items:
        if not open_:
            break
        if all(len(start) >= _LONG_START for start in open_):
            # long enough to be rare: more letters would only add scan patterns
            return set(), closed | open_
        step = _step(str(op), arg, open_)
        if step is None:
            return None
        grown, ended = step
        if len(grown) + len(closed) + len(ended) > _MAX_REGEX_STARTS:
            return set(), closed | open_  # too many ways on: begin with what came before
        open_, closed = grown, closed | ended
    return open_, closed


def _step(name: str, arg: Any, open_: set[str]) -> tuple[set[str], set[str]] | None:
    """One item of a pattern after the beginnings ``open_`` (see :func:`_opened`)."""
    if name == "LITERAL":
        return _grown(open_, [_folded_char(arg)])
    if name == "IN" and len(arg) <= 4 and all(str(o) == "LITERAL" for o, _ in arg):
        return _grown(open_, [_folded_char(code) for _, code in arg])
    if name == "SUBPATTERN" and not arg[1] and not arg[2]:
        return _opened(list(arg[-1]), open_)
    if name == "BRANCH":
        grown: set[str] = set()
        ended: set[str] = set()
        for alternative in arg[1]:
            found = _opened(list(alternative), set(open_))
            if found is None:
                return None
            grown |= found[0]
            ended |= found[1]
        return grown, ended
    if name in ("MAX_REPEAT", "MIN_REPEAT") and arg[0] == 0 and arg[1] == 1:
        found = _opened(list(arg[2]), set(open_))
        return None if found is None else (open_ | found[0], found[1])
    if name == "AT":  # "\b" takes no letter; "^" and "$" say where, not what
        return (open_, set()) if str(arg) in _ZERO_WIDTH else None
    return set(), open_  # a class, a repeat: the beginnings end here


def _grown(open_: set[str], chars: list[str | None]) -> tuple[set[str], set[str]]:
    """The beginnings with one more character, any of ``chars`` (ended if one cannot be)."""
    if any(char is None for char in chars):
        return set(), open_
    return {start + char for start in open_ for char in chars if char is not None}, set()


def _folded_char(code: int) -> str | None:
    """The character as the folded text spells it, if folding keeps it one character."""
    char = chr(code)
    lower = char.lower()
    return lower if len(lower) == 1 and lower == char.casefold() and lower.isprintable() else None


def _bounded_or_none(pattern: str) -> Any:
    """``pattern`` compiled by :func:`_ending_on_a_boundary`, or ``None`` when RE2 refuses it
    (its own named groups, twice over: the boundary stays a check after the match)."""
    try:
        return re2.compile(_ending_on_a_boundary(pattern), _OPTIONS)
    except re2.error:
        return None


# The group a regex term's bounded pattern captures the character after its match in.
END_GROUP = "term_end"
# A bounded pattern is asked only about a match this long at most (a term's match is a phrase;
# a greedy user regex's may run over the whole text), within this much more of the text.
_BOUNDED_SPAN = 1024
_BOUNDED_SLACK = 256


def _ending_on_a_boundary(pattern: str) -> str:
    """``pattern`` for RE2, preferring among its matches at one place one that ends on a word
    boundary: a match followed by a non-word character (captured in :data:`END_GROUP`, not part
    of the span) or the end of the text; else its own choice.

    Alternation is leftmost-first: in "(?:de|del)" the "de" of "del pacto" would be taken, fail
    the boundary check, and "del" would never be tried. Phrases order their alternatives longest
    first; a user's regex is taken as written, so the boundary goes into the pattern instead.
    The unbounded alternative keeps matches that end on a non-word character ("art\\.") before
    a letter.
    """
    return f"(?i)(?:{pattern})(?:(?P<{END_GROUP}>[^\\p{{L}}\\p{{N}}_])|\\z)|(?:{pattern})"


# Letters that case folding spells otherwise than lower case: the text is folded ("Verstöße" is
# read as "verstösse"), so a pattern naming them must be too, or it never matches. Only literal
# letters are changed: folding a whole pattern would turn "\S" into "\s".
_FOLDED_LETTERS = str.maketrans({"ß": "ss", "ẞ": "ss"})


def _outer_boundaries_dropped(pattern: str) -> str:
    """The pattern without a ``\\b`` at either end: a term's ends are checked on Unicode word
    boundaries anyway, while the engines' ``\\b`` is ASCII-only and never holds beside "д" or
    "é" (``\\bдо 5 февраля\\b`` would match nothing)."""
    if pattern.startswith("\\b") and len(pattern) > 2:
        pattern = pattern[2:]
    if pattern.endswith("\\b") and not pattern.endswith("\\\\b") and len(pattern) > 2:
        pattern = pattern[:-2]
    return pattern


def boundary_spans(
    finder: Any,
    text: str,
    encoded: bytes | None = None,
    bounded: Any = None,
) -> Iterator[tuple[int, int]]:
    """The leftmost matches of ``finder`` (``re`` or RE2) that begin and end on word boundaries.

    A match that fails the check is tried again one character on, not after its end as
    ``finditer`` would: "la oea excluyó" holds "a exclu" (from "oea"), and resuming after it
    would skip "excluyó". Where a match fails the check, ``bounded`` (a regex term's
    :attr:`Term.bounded`) is asked at the same place for one that ends on a boundary: "de" of
    "(?:de|del)" fails in "del pacto", "del" holds. RE2 searches the UTF-8 of ``text``
    (``encoded``, if already made), encoded once: its wrapper would encode a str again for every
    search, and a text full of failed matches would cost a whole encoding each; and it is asked
    directly (see :func:`_re2_search`). Its byte offsets are turned into characters as the
    search moves on (:class:`_CharCursor`), not through a map of the whole text.
    """
    data: str | bytes = text
    cursor: _CharCursor | None = None
    if isinstance(finder, re.Pattern):
        search = _python_search(finder, text)
    else:
        data = text.encode("utf-8", "surrogatepass") if encoded is None else encoded
        if len(data) != len(text):
            cursor = _CharCursor(data)
        search = _re2_search(finder, data)
    position = 0
    while position <= len(data):
        found = search(position)
        if found is None:
            return
        at, to = found
        if cursor is None:
            start, end = at, to
        else:
            start = cursor.char_at(at)
            end = start + cursor.chars_between(at, to)
        retried = bounded_retry(bounded, text, data, at, to, start, end)
        if retried is not None:
            to = retried
            end = to if cursor is None else start + cursor.chars_between(at, to)
        if end > start and on_boundaries(text, start, end):
            yield start, end
            position = to
        elif cursor is None:
            position = at + 1
        else:  # the next character's first byte (past the end after the last)
            following = cursor.following(at)
            position = following if following < len(data) else len(data) + 1


class _CharCursor:
    """Character offsets of byte offsets into UTF-8 ``data``, asked in increasing order (a
    search moving on through the text): each is counted on from the last one asked, so a whole
    search decodes the text about once."""

    __slots__ = ("_byte", "_char", "_data")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._byte = 0
        self._char = 0

    def char_at(self, offset: int) -> int:
        """The character offset of byte ``offset`` (a character's first byte)."""
        if offset < self._byte:  # asked out of order: count again from the start
            self._byte = self._char = 0
        self._char += self.chars_between(self._byte, offset)
        self._byte = offset
        return self._char

    def chars_between(self, start: int, end: int) -> int:
        """Characters in ``data[start:end]`` (both on character starts)."""
        return len(self._data[start:end].decode("utf-8", "surrogatepass"))

    def following(self, offset: int) -> int:
        """The first byte of the character after the one at byte ``offset`` (the end of the
        data at most)."""
        data = self._data
        return offset + _utf8_size(data[offset]) if offset < len(data) else len(data)


def _utf8_size(lead: int) -> int:
    """Bytes in the UTF-8 character whose first byte is ``lead``."""
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _python_search(finder: re.Pattern[str], text: str) -> Callable[[int], tuple[int, int] | None]:
    """The span of ``finder.search(text, position)``, or ``None``."""

    def search(position: int) -> tuple[int, int] | None:
        found = finder.search(text, position)
        return None if found is None else found.span()

    return search


def _re2_search(finder: Any, data: bytes) -> Callable[[int], tuple[int, int] | None]:
    """The span of ``finder.search(data, position)`` for an RE2 ``finder`` over bytes (``0 <=
    position <= len(data)``), or ``None``: asked of the compiled RE2 directly, without the
    wrapper's generator and match object."""
    match = finder._regexp.Match
    size = len(data)

    def search(position: int) -> tuple[int, int] | None:
        first: tuple[int, int] = match(_UNANCHORED, data, position, size)[0]
        return None if first == _NO_SPAN else first

    return search


def bounded_retry(
    bounded: Any, text: str, data: bytes | str, at: int, to: int, start: int, end: int
) -> int | None:
    """Where a regex term's match at ``at`` (data offsets, ``start``-``end`` in characters) ends
    once ``bounded`` is asked for one ending on a word boundary; ``None`` when it is not asked (no
    bounded pattern, the match on boundaries already, or longer than :data:`_BOUNDED_SPAN`)."""
    if bounded is None or not 0 < to - at <= _BOUNDED_SPAN or on_boundaries(text, start, end):
        return None
    return _bounded_end(bounded, data, at, to)


def _bounded_end(bounded: Any, data: bytes | str, at: int, to: int) -> int:
    """Where the match of ``bounded`` at ``at`` ends, short of the character after it that it
    takes (``to``, the finder's own end, if it has none).

    RE2 finds submatches (the captured character) with a slower engine that may run on to the
    end of the text: it is given the finder's match and a little more (a match ending at that
    window's edge is checked on the real text's boundaries by the caller)."""
    found = bounded.match(data, at, min(len(data), to + _BOUNDED_SLACK))
    if found is None:
        return to
    after: int = found.start(bounded.groupindex[END_GROUP])
    end: int = found.end()
    return end if after < 0 else after


# google-re2's wrapper runs a Python generator around every search (clamping offsets, building a
# match object); over bytes it adds nothing else, and on an entry most RE2 terms are searched
# once and found nowhere. These call its compiled RE2 directly, as the wrapper itself does.
_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED
_ANCHOR_START = re2._re2.RE2.Anchor.ANCHOR_START
_NO_SPAN = (-1, -1)


def re2_finditer_spans(finder: Any, data: bytes) -> list[tuple[int, int]]:
    """``[m.span() for m in finder.finditer(data)]`` for an RE2 ``finder`` over bytes (the
    wrapper's loop, empty matches and all)."""
    match = finder._regexp.Match
    found: list[tuple[int, int]] = []
    position, end = 0, len(data)
    while True:
        first = match(_UNANCHORED, data, position, end)[0]
        if first == _NO_SPAN:
            return found
        found.append(first)
        if position == end:
            return found
        position = position + 1 if position == first[1] else first[1]


def re2_match_span(finder: Any, data: bytes, position: int) -> tuple[int, int] | None:
    """The span of ``finder.match(data, position)`` for an RE2 ``finder`` over bytes (``0 <=
    position <= len(data)``), or ``None``."""
    first: tuple[int, int] = finder._regexp.Match(_ANCHOR_START, data, position, len(data))[0]
    return None if first == _NO_SPAN else first


def literal_spans(text: str, literal: str) -> Iterator[tuple[int, int]]:
    """Spans of a one-word term: plain substring search, then the boundary check."""
    size = len(literal)
    start = text.find(literal)
    while start >= 0:
        if on_boundaries(text, start, start + size):
            yield start, start + size
        start = text.find(literal, start + 1)


def _reject_unsupported(pattern: str) -> Any:
    """Name the constructs a linear-time engine cannot run (Python's parser knows them all)."""
    try:
        tree = _parser.parse(pattern)
    except re.error:
        return None  # re2 has its own syntax (e.g. \pL); let re2 judge it
    stack = [tree]
    while stack:
        node = stack.pop()
        for op, arg in node:
            name = str(op)
            if name in _FORBIDDEN:
                raise TermError(f"in {pattern!r}: {_FORBIDDEN[name]}")
            for item in arg if isinstance(arg, list | tuple) else (arg,):
                if isinstance(item, _parser.SubPattern):
                    stack.append(item)
                elif isinstance(item, list | tuple):
                    stack.extend(i for i in item if isinstance(i, _parser.SubPattern))
    return tree


def _required_literal(tree: Any) -> str | None:
    """The longest ASCII literal every match must contain (3+ chars), for the prefilter."""
    runs: list[str] = []
    current: list[str] = []
    items = list(tree)
    while items:
        op, arg = items.pop(0)
        name = str(op)
        if name == "LITERAL" and arg < 128:
            current.append(chr(arg))
            continue
        if name == "SUBPATTERN" and not any(str(o) == "BRANCH" for o, _ in arg[-1]):
            items[:0] = list(arg[-1])  # a plain group is part of the sequence
            continue
        runs.append("".join(current))
        current = []
    runs.append("".join(current))
    best = max(runs, key=len).casefold()
    return best if len(best) >= 3 else None
