"""The rule-file schema (v1) as pydantic models: the shape of a file, before terms compile."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
)

from monitor.config import parse_duration
from monitor.feeds.language import normalise_language
from monitor.rules.match import Severity

# ``lead``: the opening sentence of the summary (of the content when there is no summary), where
# news states its development; later sentences tend to hold background.
FIELDS = ("title", "summary", "content", "lead", "categories", "link", "feed")
FieldName = Literal["title", "summary", "content", "lead", "categories", "link", "feed"]
DEFAULT_FIELDS: tuple[FieldName, ...] = ("title", "summary", "content")
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
Channel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
VocabularyName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def _severity(value: object) -> Severity:
    if isinstance(value, Severity):
        return value
    if not isinstance(value, str):
        raise ValueError("must be one of info, low, medium, high, critical")
    return Severity.parse(value)


def _language_code(value: object) -> str:
    code = normalise_language(value)
    if not code:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code (like en, ru, uk)")
    return code


LanguageCode = Annotated[str, BeforeValidator(_language_code)]


def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("window must be longer than 0s")
    return seconds


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExampleModel(_Model):
    """An example entry: a title plus optional other fields (and where the file gives it)."""

    title: str
    summary: str = ""
    content: str = ""
    categories: tuple[str, ...] = ()
    link: str = ""
    feed: str | None = None
    feed_tags: tuple[str, ...] | None = None
    language: LanguageCode | None = None  # unset: unknown, which every rule admits
    _line: int = PrivateAttr(default=0)

    @property
    def line(self) -> int:
        """The line of the rule file the example is on (0 when not read from a file)."""
        return self._line

    def at_line(self, line: int) -> ExampleModel:
        """A copy that knows its line in the rule file."""
        copy = self.model_copy()
        copy._line = line
        return copy


Example = str | ExampleModel


class ExamplesModel(_Model):
    """Texts the rule must match and must not match."""

    match: tuple[Example, ...] = ()
    no_match: tuple[Example, ...] = ()


class RealertModel(_Model):
    """Throttle: the same rule and key fire at most once per window."""

    window: Annotated[float, BeforeValidator(_positive_duration)]
    key: Literal["link", "title", "story", "entry"] = "story"


class RuleModel(_Model):
    """One rule as written (``match`` is parsed separately, with positions)."""

    id: RuleId
    title: Text
    description: str = ""
    severity: Annotated[Severity, BeforeValidator(_severity)]
    channels: Annotated[tuple[Channel, ...], Field(min_length=1)]
    tags: tuple[Annotated[str, StringConstraints(min_length=1, max_length=100)], ...] = ()
    enabled: bool = True
    fields: Annotated[tuple[FieldName, ...], Field(min_length=1)] = DEFAULT_FIELDS
    guards: tuple[Literal["negation", "hypothetical", "background"], ...] = ()
    secondary: Literal["anywhere", "lead", "title"] = "anywhere"
    due: Literal["any", "future"] = "any"
    due_words: Any = None
    feeds: tuple[str, ...] = ()
    feed_tags: tuple[str, ...] = ()
    languages: tuple[LanguageCode, ...] = ()
    match: Any
    realert: RealertModel | None = None
    examples: ExamplesModel | None = None


class FileModel(_Model):
    """A whole rule file."""

    version: Literal[1]
    vocabularies: dict[VocabularyName, Annotated[tuple[Any, ...], Field(min_length=1)]] = {}
    # named conditions, written as a rule's ``match`` and used as ``$name`` in any rule's
    conditions: dict[VocabularyName, Any] = {}
    rules: tuple[dict[str, Any], ...] = ()
