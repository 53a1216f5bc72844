"""Due dates stated in treaty text ("within 60 days", "expires on 5 February 2026"). Pure.

The text is scanned for two kinds of candidate:

- an absolute date ("2 August 2019", "February 5", "5 февраля 2021 года", "5. Februar 2026",
  "30 de junio"), strong when a deadline word stands just before it ("takes effect on", "until",
  "expires", "bis zum", "jusqu'au", "истекает", "hasta el") or, in German, just after it
  ("am 17. Januar in Kraft");
- a period ("within 60 days", "a 30-day clock", "six months after notice", "one year later",
  "in sechs Monaten", "dans un délai de 30 jours", "через шесть месяцев", "en seis meses"),
  counted from a date the text gives ("six months after 1 February 2019", "on 22 May ... six
  months later", "said on 4 December that ... within 60 days": a past date earlier in the same
  sentence) or else from publication.

Strong dates win over periods, periods over other dates; a plain date in the past is ignored.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# A deadline named without a year and further back than this is taken to be the next one.
_PASSED = timedelta(days=60)
# Feed text is hostile: bound the work done on one entry.
_MAX_TEXT = 20_000

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan janvier januar jänner enero января январь янв",
        "february feb febr février fevrier februar febrero февраля февраль фев",
        "march mar mars märz marz marzo марта март",
        "april apr avril abril апреля апрель",
        "may mai mayo мая май",
        "june jun juin juni junio июня июнь",
        "july jul juillet juli julio июля июль",
        "august aug août aout agosto августа август",
        "september sep sept septembre septiembre setiembre сентября сентябрь",
        "october oct octobre oktober octubre октября октябрь",
        "november nov novembre noviembre ноября ноябрь",
        "december dec décembre decembre dezember diciembre декабря декабрь",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
MONTH_NAMES = _MONTH_RE  # month names and abbreviations in the five languages, as a regex
_DAY_FIRST = re.compile(
    rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?(?P<m>{_MONTH_RE})\b\.?"
    r"(?:,?\s+(?:de\s+|del\s+)?(?P<y>(?:19|20)\d\d)\b)?"
)
_MONTH_FIRST = re.compile(
    rf"\b(?P<m>{_MONTH_RE})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?!\s*[:.]\d)"
    r"(?:,?\s+(?P<y>(?:19|20)\d\d)\b)?"
)
_ISO = re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")

# Deadline words just before a date (within the window) make it a strong candidate.
_CUE_BEFORE = re.compile(
    r"\b(?:by|until|till|through|before|as of|no later than|expire[sd]?|expiry|expiring|"
    r"effect|effective|deadline|due|force|ends?|ended|lapses?|lapsed|"
    r"до|истекает|истек|истёк|истечет|истечёт|силу|срок|"
    r"jusqu'au|jusqu’au|avant|expire|effet|effets|vigueur|échéance|limite|compter du|"
    r"s'appliquer|s’appliquer|"
    r"bis|spätestens|frist|"
    r"hasta|antes|vence|vigor|plazo|efectiva|efectivo|efecto|límite|aplicarse|regir|"
    r"a partir del?)\b[^.;!?\n]{0,24}$"
)
# "six months after 1 February": that date starts a period, it is not the due date itself.
_ANCHOR_BEFORE = re.compile(
    r"\b(?:after|from|following|après|nach|ab|después de|tras|после)\s+"
    r"(?:(?:the|le|la|l'|dem|der|el|del)\s+)?$"
)
_CUE_AFTER = re.compile(r"^\s*(?:\S+\s+){0,2}?(?:in kraft|wirksam|ab|aus)\b")

_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "eighteen": 18,
    "thirty": 30, "sixty": 60, "ninety": 90,
    "один": 1, "одного": 1, "одна": 1, "два": 2, "двух": 2, "три": 3, "трёх": 3, "трех": 3,
    "шесть": 6, "шести": 6, "двенадцать": 12,
    "un": 1, "une": 1, "uno": 1, "una": 1, "deux": 2, "dos": 2, "trois": 3, "tres": 3,
    "seis": 6, "douze": 12, "doce": 12,
    "ein": 1, "eine": 1, "einem": 1, "einen": 1, "einer": 1, "zwei": 2, "drei": 3,
    "sechs": 6, "zwölf": 12,
    # the periods treaties set, in words: "en sesenta días", "dans quatre-vingt-dix jours",
    # "neunzig Tage", "через девяносто дней"
    "cuatro": 4, "quatre": 4, "vier": 4, "quince": 15, "quinze": 15, "treinta": 30,
    "trente": 30, "dreißig": 30, "sesenta": 60, "soixante": 60, "sechzig": 60, "noventa": 90,
    "quatre-vingt-dix": 90, "neunzig": 90, "тридцать": 30, "шестьдесят": 60, "девяносто": 90,
}  # fmt: skip
_NUMBER_RE = r"\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))

# unit word -> (hours, months); a period in hours ends on the day its last hour falls in
_UNIT_PREFIXES: tuple[tuple[str, tuple[int, int]], ...] = (
    ("hour", (1, 0)), ("heure", (1, 0)), ("stund", (1, 0)), ("hora", (1, 0)), ("час", (1, 0)),
    ("day", (24, 0)), ("jour", (24, 0)), ("tag", (24, 0)), ("día", (24, 0)), ("dia", (24, 0)),
    ("дн", (24, 0)), ("ден", (24, 0)), ("дня", (24, 0)),
    ("week", (168, 0)), ("semaine", (168, 0)), ("woche", (168, 0)), ("semana", (168, 0)),
    ("недел", (168, 0)),
    ("month", (0, 1)), ("mois", (0, 1)), ("monat", (0, 1)), ("mes", (0, 1)),
    ("месяц", (0, 1)),
    ("year", (0, 12)), ("année", (0, 12)), ("an", (0, 12)), ("jahr", (0, 12)),
    ("año", (0, 12)), ("год", (0, 12)), ("лет", (0, 12)),
)  # fmt: skip
_UNIT_RE = (
    r"hours?|heures?|stunden?|horas?|час(?:а|ов)?|"
    r"days?|jours?|tag(?:e|en)?|días?|dias?|дн(?:я|ей)|день|"
    r"weeks?|semaines?|wochen?|semanas?|недел(?:ю|и|ь)|"
    r"months?|mois|monat(?:e|en|s)?|mes(?:es)?|месяц(?:а|ев)?|"
    r"years?|années?|ans?|jahr(?:e|en|es)?|años?|год(?:а)?|лет"
)
# Russian names one unit without a number: "через год", "в течение месяца" (a year, a month).
_PERIOD = re.compile(
    rf"(?:\b(?P<n>{_NUMBER_RE})(?:\s+|-)|(?<=через )|(?<=течение ))(?P<u>{_UNIT_RE})"
    r"(?:'s|’s|')?(?![\w-])(?P<after>\s*\S+(?:\s+\S+)?)?"
)
# "préavis d'un an", "preaviso de doce meses", "notice period of six months": the notice a
# state gives runs from the day it is given (the text reporting it now) for the period named.
_PERIOD_BEFORE = re.compile(
    r"(?:\b(?:within|in|after|binnen|innerhalb|nach|frist von|dans|délai de|d'ici|d’ici|après|"
    r"через|течение|спустя|после|en|plazo de|después de|tras|tardará|tarda|llevará|dura|durará|"
    r"dentro de|préavis|preaviso|notice period|kündigungsfrist)"
    r"\s+(?:(?:de|von|of)\s+)?|\bpréavis\s+d['’])$"
)
_PERIOD_AFTER_LATER = re.compile(
    r"^\s*(?:later|plus tard|später|danach|más tarde|después|спустя)\b"
)
_PERIOD_AFTER_FROM = re.compile(
    r"^\s*(?:after|from|following|après|nach|ab|después de|tras|после)\b"
    r"\s*(?:(?:the|le|la|l'|dem|der|el|del)\s+)?"
)
# "suspends the right of asylum for a month", "suspende garantías por quince días", "restringe
# libertades durante noventa días", "приостанавливает на три месяца": a suspension for a set time
# ends when that time is up (not "has been suspended for six years": that is time gone by).
_SUSPENDED_FOR = re.compile(
    r"(?:suspen|aussetz|ausgesetzt|setzt|setzen|derog|dérog|restring|restrict|limit|приостан|"
    r"on hold|freez|froze|paus|moratori|halt|sperrt|gesperrt)[^.;!?\n]{0,80}?"
    r"\b(?:for|für|por|durante|pendant|durant|на|на срок)\s+(?:(?:the|a|another|next|les|los|"
    r"las|die|weitere|otros|otras)\s+)?$"
)
_SUSPENDED_SINCE = re.compile(r"\b(?:has|have|had) been\b|\b(?:seit|since|depuis|desde hace|уже)\b")
# "giving Islamabad 90 days to", "da 60 días a Europa": a period granted to someone
_PERIOD_GIVEN = re.compile(
    r"\b(?:gives?|gave|giving|given|grants?|granted|has|have|had|donne|donné|gibt|gab|da|dio|"
    r"dará|dan|dieron|дал|дали|даёт|дает)\s+(?:\S+\s+){0,3}$"
)
# Searched from the last character of a date: "7 Nov." takes the sentence's full stop with it.
_FULL_STOP = re.compile(r"[.!?…]\s|\n")
_SENTENCE_END = re.compile(r"[.!?…;]\s|\n")  # a clause after ";" is a new statement
_PERIOD_AFTER_KIND = re.compile(
    r"^\s*(?:notice|clock|ultimatum|deadline|period|window|countdown|grace|"
    r"préavis|délai|frist|kündigungsfrist|plazo|срок)"
)

# "six months after the United Nations is notified", "после уведомления депозитария", "nach
# Eingang der Notifizierung": a period that counts from a notice. Its day is known only when the
# text reports the notice given (_NOTICE_GIVEN); a parliament voting to leave has given none yet.
_FROM_NOTICE = re.compile(
    r"\s*(?:after|from|following|of|après|à compter de|à partir de|nach|ab|después de|tras|"
    r"desde|a partir de|после|с момента|со дня|с даты)\s+"
    r"(?:(?:the|la|le|l'|l’|der|dem|el|date of|day of|receipt of|eingang der|zugang der|"
    r"réception de la|recepción de la|получения)\s+)*"
    r"(?:(?<!after )(?<!from )(?:written |formal )?(?:notification|notice|notifizierung|"
    r"kündigung|notificación|уведомлени)|"
    r"(?:(?:un|united nations|depositary|depositaries|secretary-general|"
    r"un secretary-general|other parties?)\s+)+(?:is|are|has been|have been)\s+notified|"
    r"(?:\w+\s+){1,4}(?:is|are)\s+(?:notified|informed|given notice)|"
    r"(?:[^\s.;]+\s+){1,5}(?:receives|receive|gets)\s+(?:\S+\s+){0,3}(?:notice|notification))"
)
# "после направления уведомления депозитариям выход вступит в силу через шесть месяцев", "six
# months after that notification": the notice named in the period's sentence, still to come
_NOTICE_AHEAD = re.compile(
    r"\b(?:after|following|from|upon|once|nach|après|à compter de|después de|desde|tras|после|"
    r"с момента)\s+(?:(?:\S+\s+){0,3}(?:notification|notifizierung|notifikation|mitteilung|"
    r"notificación|уведомлени)|(?:\S+\s+){1,3}notice\b(?! period))"
)
_NOTICE_GIVEN = re.compile(
    r"(?<!is )(?<!are )(?<!be )\b(?:notified|notifies|notifying|served (?:its |formal )?notice|"
    r"serves (?:its |formal )?notice|(?:deposited|delivered|handed|submitted|sent|lodged|gave) "
    r"(?:\S+ ){0,3}(?:notice|notification|instrument)|"
    r"notifi[ée]e?s?|a notifié|ont notifié|notifie|notifiziert|notifizierte|"
    r"notificó|notifica|notificaron|entregó (?:\S+ ){0,3}notificación|"
    r"уведомил[аи]?|уведомляет|направил[аи]? (?:\S+ ){0,2}уведомление|"
    r"передал[аи]? (?:\S+ ){0,2}уведомление|"
    r"(?:notification|notice) (?:was|has been|had been) (?:received|delivered|deposited|"
    r"submitted|given|served)|"
    r"(?:notice|notification|notificación|notifizierung|уведомление)\b[^.;]{0,12}"
    r"(?:delivered|handed|submitted|deposited|entregada|remise|übergeben|übermittelt|передано|"
    r"направлено)|austritt (?:\S+ ){0,5}erklärt|"
    # a state denouncing or terminating a treaty is giving its notice
    r"denounces|denounced|terminates|terminated|is terminating|dénonce|dénoncé|dénoncer|"
    r"denuncia (?:la|el|los|las|su)|denunció|kündigt|kündigte|gekündigt|денонсирует|"
    r"денонсировал[аи]?)\b"
)

# A step completed now: a period beside it says how long it took ("... a year after").
_DONE = re.compile(
    r"\b(?:took effect|ceased to be|ceases to be|stopped being|as of today|"
    r"became (?:legally )?(?:effective|binding)|"
    r"(?:is|are) no longer (?:a (?:high contracting )?party|a member|bound)|"
    r"entered into force|came into force|formally (?:withdrew|left|ceased|exited)|"
    # told in the present: "вступает в силу сегодня, через 30 дней после сдачи ... грамоты"
    r"enters into force|comes into force|entre(?:nt)? en vigueur|вступа(?:ет|ют) в силу|"
    r"entra(?:n)? en vigor|tritt (?:heute|nun|jetzt) in kraft|"
    r"вступил[аои]? в силу|больше не является|est entrée? en vigueur|a pris effet|"
    r"in kraft getreten|trat (?:\S+ ){0,4}in kraft|wirksam geworden|ist seit|"
    r"entró en vigor|se hizo efectiva|surtió efecto)"
)
# "as the one-year notice period ends": the period runs out now, nothing falls due later.
_PERIOD_RAN_OUT = re.compile(
    r"\s*(?:(?:notice|waiting|withdrawal|transition)\s+)?(?:period|notice)\s+"
    r"(?:ends|ended|expires|expired|elapses|elapsed|runs out|ran out|is over|is up|lapses|lapsed|"
    r"(?:has|have) (?:passed|run out|ended|expired|elapsed|lapsed))\b"
)
# "Se cumplió el plazo de dos años", "the two-year period has passed": it runs out now
_RAN_OUT_BEFORE = re.compile(
    r"(?:se cumplió|se cumplieron|ha vencido|venció|expiró|a expiré|est écoulé|ist abgelaufen|"
    r"истёк|истек)\s+(?:el |le |la |der |die |das )?(?:plazo|délai|frist|срок)\s+"
    r"(?:de |d'|d’|von |в )?$"
)
# "quitte la Cédéao au terme du préavis d'un an": the step at a notice's end, told as happening
# now (no "will", "prendra", "será", no notice given in its sentence), falls due today
_AT_END_BEFORE = re.compile(
    r"(?:au terme du|à l'expiration du|à l’expiration du|at the end of (?:the|its|a)|"
    r"on the expiry of (?:the|its|a)|al término del|al cumplirse el|tras el|"
    r"nach ablauf (?:der|des|einer))\s+(?:(?:plazo de |délai de )?"
    r"(?:préavis|preaviso|notice period|notice|kündigungsfrist|frist))\s+(?:de |d'|d’|of |von )?$"
)
# "after 33 years", "nach 18 Jahren": a period that may have gone by
_SINCE_BEFORE = re.compile(r"\b(?:after|nach|après|después de|tras|спустя|после)\s+$")
# "... taking effect after the six-month notice period runs out": a condition still ahead
_UNTIL_BEFORE = re.compile(r"\b(?:after|when|once|until|before|as soon as)\b[^.;]{0,30}$")
# A step still ahead: the period beside it counts forward.
_AHEAD = re.compile(
    r"\b(?:will|shall|is to|are to|takes effect|to take effect|вступит|прекратит|станет|"
    r"prendra|entrera|deviendra|wird|werden|tritt .{0,40} in kraft|se hará|será|entrará|surtirá)\b"
)
# "... after serving notice", "after Kyiv signed it", "after the juntas announced it": a past
# event, not a future one ("after the UN is notified", "after the deposit").
_PAST_ANCHOR = re.compile(
    r"^(?:'s|’s|')?\s*(?:after|following|après|nach|después de|tras|после)\s+"
    r"(?:(?:serving|giving|announcing|signing|notifying|depositing|submitting|filing)\b|"
    r"(?:\w+ ){1,2}(?:left|quit|gave|took|withdrew|became|began|sent|froze|broke|signed)\b|"
    r"(?:its|their|his|her) (?:expulsion|notice|notification|announcement|decision)\b|"
    # "ровно через год после того, как Тбилиси уведомил": a past verb after "после того, как"
    r"того,? как (?:\S+ ){0,3}?\S+(?:л|ла|ли|ло)\b|"
    r"(?:(?!(?:is|are|be|been|was|were|will|has|have)\b)[^\s.,;]+\s+){0,3}"
    r"(?!is\b|are\b|be\b|been\b)[a-z]+ed\b(?!\s+(?:by|to|on)\b))"
)


@dataclass(frozen=True, slots=True)
class _Found:
    """A date mentioned in the text and where."""

    start: int
    end: int
    day: date
    strong: bool


def extract_deadline(text: str, published: datetime) -> date | None:
    """The due date the text states, counted from ``published`` when relative; else ``None``."""
    text = text[:_MAX_TEXT].casefold()
    base = published.date()
    dates = _absolute_dates(text, base)
    strong = [d.day for d in dates if d.strong]
    if strong:
        return max(strong)
    relative = _periods(text, base, dates)
    # "..., two weeks after parliament voted. The exit will take effect one year after ...":
    # a period counted back yields to one still ahead, or to a day named ahead ("effectif à
    # l'expiration du préavis d'un an, le 2 septembre")
    ahead = next((day for day in relative if day > base), None)
    if ahead is not None:
        return ahead
    weak = [d.day for d in dates if d.day >= base]
    if relative and not any(day > base for day in weak):
        return relative[0]
    if weak:
        return min(weak)
    return _month_named(text, base) or _year_end(text, base)


# The end of the year of publication, when a step takes effect: "zum Jahresende", "at the end
# of the year", "d'ici la fin de l'année", "a fin de año", "к концу года" (not "until the end of
# the year", "до конца года": how long a suspension lasts, which the labels leave undated).
_YEAR_END = re.compile(
    r"\b(?:zum jahresende|zum ende des jahres|(?:by|at) the end of the year|by year-end|"
    r"à la fin de l'année|d'ici la fin de l'année|a fin(?:ales)? de año|"
    r"к концу (?:этого |текущего )?года)(?!\w)"
)


# The end of a year named by its number, when a step takes effect: "will withdraw from UNESCO at
# the end of 1985", "à la fin de 1985", "Ende 1985", "a finales de 1985", "к концу 1985 года"
# (not "until the end of 1985", "до конца 1985 года": how long a pause lasts).
_NAMED_YEAR_END = re.compile(
    r"\b(?:(?:at|by) (?:the )?end of|(?:à|d'ici) la fin de|fin|(?:zum |bis )?ende|"
    r"a (?:finales|fines) de|(?:к|в) конц[уе])\s+(?P<y>(?:19|20)\d\d)(?!\d)"
)


def _year_end(text: str, base: date) -> date | None:
    """The last day of the year of publication ("verlässt die UNWTO zum Jahresende"), else of
    the first year named after "end of" that is not already past."""
    if _YEAR_END.search(text):
        return date(base.year, 12, 31)
    for m in _NAMED_YEAR_END.finditer(text):
        year = int(m["y"])
        if year >= base.year:
            return date(year, 12, 31)
    return None


# "expires in February 2021", "until the end of September": a month with a deadline word before
# it, when the text names no day. Month names of three letters or fewer ("may", "mai") count only
# with a year.
_MONTH_ONLY = re.compile(
    rf"\b(?P<end>(?:the\s+)?end\s+of\s+|fin\s+|finales\s+de\s+|ende\s+)?(?P<m>{_MONTH_RE})\b"
    r"(?:\s+(?:de\s+|del\s+)?(?P<y>(?:19|20)\d\d)\b)?"
)


def _month_named(text: str, base: date) -> date | None:
    """The first (or, after "end of", the last) day of a month a deadline word points at."""
    for m in _MONTH_ONLY.finditer(text):
        name = m["m"]
        if len(name) <= 3 and not m["y"]:
            continue
        if not _CUE_BEFORE.search(text[max(0, m.start() - 60) : m.start()]):
            continue
        month = _MONTHS[name]
        year = int(m["y"]) if m["y"] else base.year + (month < base.month)
        day = calendar.monthrange(year, month)[1] if m["end"] else 1
        found = date(year, month, day)
        if found >= base:
            return found
    return None


def _absolute_dates(text: str, base: date) -> list[_Found]:
    """Every day-precise date in the text, each marked strong when a deadline word is beside it."""
    found: dict[int, _Found] = {}
    for pattern in (_ISO, _DAY_FIRST, _MONTH_FIRST):
        for m in pattern.finditer(text):
            if any(f.start <= m.start() < f.end for f in found.values()):
                continue
            month = _MONTHS.get(m["m"].rstrip(".")) if not m["m"].isdigit() else int(m["m"])
            day = _make_date(m["y"], month, int(m["d"]), base)
            if day is None:
                continue
            before = text[max(0, m.start() - 60) : m.start()]
            cued = _CUE_BEFORE.search(before) or _CUE_AFTER.match(text[m.end() : m.end() + 30])
            strong = bool(cued) and not _ANCHOR_BEFORE.search(before)
            if strong and not m["y"] and day < base - _PASSED:
                # a deadline is ahead: "takes effect on 22 November" said in May is this November
                # (one that just passed, "expired on 27 September" said on the 28th, stays)
                day = _make_date(str(day.year + 1), month, day.day, base) or day
            found[m.start()] = _Found(m.start(), m.end(), day, strong)
    return sorted(found.values(), key=lambda f: f.start)


def _make_date(year: str | None, month: int | None, day: int, base: date) -> date | None:
    """A valid date; without a year, the one nearest to ``base``."""
    if month is None or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    years = [int(year)] if year else [base.year - 1, base.year, base.year + 1]
    options = []
    for y in years:
        if day <= calendar.monthrange(y, month)[1]:
            options.append(date(y, month, day))
    if not options:
        return None
    return min(options, key=lambda d: abs((d - base).days))


def _periods(text: str, base: date, dates: list[_Found]) -> list[date]:
    """Due dates of the periods the text states, in order of appearance."""
    results: list[date] = []
    for m in _PERIOD.finditer(text):
        if any(f.start <= m.start() < f.end for f in dates):
            continue  # "5 February" is a date, not a period of five months
        after = m["after"] or ""
        before = text[max(0, m.start() - 20) : m.start()]
        hyphenated = "-" in text[m.start() : m.end("u")]
        given = _PERIOD_GIVEN.search(text[max(0, m.start() - 40) : m.start()])
        is_period = (
            _PERIOD_BEFORE.search(before)
            or _suspended_for(text, m)
            or given
            or _PERIOD_AFTER_LATER.match(after)
            or _PERIOD_AFTER_FROM.match(after)
            or _PERIOD_AFTER_KIND.match(after)
            or (hyphenated and not after.strip().startswith(("old", "long")))
        )
        if not is_period:
            continue
        # "as the notice period ends" (not "after the notice period runs out"), "rejoins after
        # 33 years", "took effect on Friday, six months after serving notice": falls due today
        ran_out = _PERIOD_RAN_OUT.match(text, m.end("u")) and not _UNTIL_BEFORE.search(
            text, max(0, m.start() - 40), m.start()
        )
        elapsed = (
            (_SINCE_BEFORE.search(before) and _elapsed(text, m))
            or _RAN_OUT_BEFORE.search(text, max(0, m.start() - 40), m.start())
            or (
                _AT_END_BEFORE.search(text, max(0, m.start() - 50), m.start())
                and not _AHEAD.search(sentence := _sentence_of(text, m))
                and not _NOTICE_GIVEN.search(sentence)
            )
        )
        if (
            ran_out
            or elapsed
            or (_PERIOD_AFTER_FROM.match(after) and _counts_back(text, m) and not given)
        ):
            results.append(base)
            continue
        if (
            _FROM_NOTICE.match(text, m.end("u")) or _NOTICE_AHEAD.search(_sentence_of(text, m))
        ) and not _NOTICE_GIVEN.search(text):
            continue  # counted from a notice nobody has given yet: its day is unknown
        anchor = _anchor(text, m, after, base, dates, given=bool(given))
        results.append(_add(anchor, _count(m), m["u"]))
    return results


def _count(m: re.Match[str]) -> int:
    """How many units a period counts: its number, or one where the unit stands alone."""
    if m["n"] is None:
        return 1
    return _NUMBER_WORDS.get(m["n"]) or int(m["n"])


def _many_years(m: re.Match[str]) -> bool:
    """Whether the period is five years or more: a span no treaty clock runs."""
    return m["u"].lower().startswith(("year", "an", "jahr", "año", "год", "лет")) and _count(m) >= 5


def _suspended_for(text: str, m: re.Match[str]) -> bool:
    """Whether the period is how long a suspension lasts, told as still to run."""
    lead = text[max(0, m.start() - 100) : m.start()]
    lead = lead[_last_end(_SENTENCE_END, lead, len(lead)) :]  # this sentence's part only
    if _SUSPENDED_FOR.search(lead) is None or _SUSPENDED_SINCE.search(lead):
        return False
    return not _many_years(m)


def _counts_back(text: str, m: re.Match[str]) -> bool:
    """Whether "<period> after ..." says how long ago something began, not when it falls due.

    "entered into force on Sunday, six months after the 30th state ratified it", "formally
    ceased to be a party, two years after giving notice": the step happens now.
    """
    sentence = _sentence_of(text, m)
    following = text[m.end("u") : m.end("u") + 60]
    if _AHEAD.search(sentence):
        return False  # "will take effect one year after the depositary received it"
    return bool(_DONE.search(sentence) or _PAST_ANCHOR.match(following))


def _elapsed(text: str, m: re.Match[str]) -> bool:
    """Whether "after <period>" is time gone by: "rejoins the African Union after 33 years".

    A step still ahead in the sentence makes it a due date ("takes effect after six months"); a
    step done, or a span of years no treaty clock runs, makes it the past.
    """
    sentence = _sentence_of(text, m)
    if _AHEAD.search(sentence):
        return False
    return bool(_DONE.search(sentence)) or _many_years(m)


def _sentence_of(text: str, m: re.Match[str]) -> str:
    """The sentence (or ";" clause) around a match."""
    start = max(_last_end(_SENTENCE_END, text, m.start()), 0)
    stop = _SENTENCE_END.search(text, m.end())
    return text[start : stop.start() if stop else len(text)]


def _last_end(pattern: re.Pattern[str], text: str, before: int) -> int:
    end = 0
    for found in pattern.finditer(text, 0, before):
        end = found.end()
    return end


def _anchor(
    text: str, m: re.Match[str], after: str, base: date, dates: list[_Found], *, given: bool
) -> date:
    """The date a period counts from: a date the text ties to it, else publication.

    A period that runs "later", or one granted in a notice delivered on a stated day ("delivered
    on January 25 ..., giving Islamabad 90 days"), counts from the date just before it.
    """
    tied = _PERIOD_AFTER_FROM.match(after)
    if tied:
        # "six months after 1 February 2019"; or a past date a little later in the same clause,
        # "one year after the notification was received on 2 June" (a future one there is the
        # due date itself: "six months after the deposit, on 27 December")
        at = m.start("after") + tied.end()
        following = [
            f
            for f in dates
            if f.start == at
            or (
                at < f.start <= at + 60
                and f.day <= base
                and not _SENTENCE_END.search(text, at, f.start)
            )
        ]
        if following:
            return following[0].day
    if _PERIOD_AFTER_LATER.match(after) or given:
        preceding = _last_before(text, dates, m.start(), 200, _FULL_STOP)
        if preceding is not None:
            return preceding
    # "Pompeo said on December 4 that ... within 60 days": a past date earlier in the same
    # sentence is when the period was set, not the day the story was published.
    said = _last_before(text, dates, m.start(), 300, _SENTENCE_END, not_after=base)
    return said if said is not None else base


def _last_before(
    text: str,
    dates: list[_Found],
    end: int,
    reach: int,
    stop: re.Pattern[str],
    *,
    not_after: date | None = None,
) -> date | None:
    """The last date ending within ``reach`` characters before ``end``, with no ``stop`` between
    it and ``end`` (and, if given, not later than ``not_after``)."""
    found = [
        f.day
        for f in dates
        if end - reach <= f.end <= end
        and (not_after is None or f.day <= not_after)
        and not stop.search(text, f.end - 1, end)
    ]
    return found[-1] if found else None


def _add(start: date, count: int, unit: str) -> date:
    """``start`` plus ``count`` units (months clamp to the month's last day)."""
    hours, months = next(v for prefix, v in _UNIT_PREFIXES if unit.startswith(prefix))
    if hours:
        return start + timedelta(days=math.ceil(hours * count / 24))
    total = start.month - 1 + months * count
    year, month = start.year + total // 12, total % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
