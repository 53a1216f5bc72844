"""Due dates read from treaty text: each expected date was worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.rules.deadline import extract_deadline


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T09:30:00").replace(tzinfo=UTC)


CASES = [
    # absolute dates after a deadline word
    ("Russia must comply by 2 February 2019, Washington says", "2018-12-04", "2019-02-02"),
    # periods in words, as treaties set them
    ("el acuerdo será vinculante para el país en sesenta días", "2021-07-21", "2021-09-19"),
    ("le traité entrera en vigueur dans quatre-vingt-dix jours", "2021-07-21", "2021-10-19"),
    ("New START expires on 5 February 2026", "2025-09-01", "2026-02-05"),
    ("The treaty remains in force until February 5, 2026.", "2021-02-03", "2026-02-05"),
    ("Withdrawal takes effect on 2 August 2019.", "2019-02-01", "2019-08-02"),
    ("The deadline is 2026-03-01 for all parties.", "2026-01-10", "2026-03-01"),
    # no year: the occurrence nearest to publication, across the turn of the year
    ("Withdrawal takes effect six months later, on 22 November.", "2020-05-21", "2020-11-22"),
    ("The grain initiative expires on 18 March.", "2023-03-13", "2023-03-18"),
    ("Treaty expires on 5 February, officials warn", "2020-12-20", "2021-02-05"),
    # periods counted from publication
    ("Pompeo: return to compliance within 60 days", "2018-12-04", "2019-02-02"),
    ("Iran gives Europe a 60-day ultimatum on the nuclear deal", "2019-05-08", "2019-07-07"),
    ("E3 start a 30-day clock on snapback", "2025-08-28", "2025-09-27"),
    ("The exit takes effect six months after notice", "2025-08-20", "2026-02-20"),
    ("Under the treaty, withdrawal requires one year's notice.", "2024-01-28", "2025-01-28"),
    ("The treaty will enter into force in 90 days.", "2020-10-24", "2021-01-22"),
    ("Notice period: within two weeks of the vote", "2024-02-26", "2024-03-11"),
    # a notice period named by its kind first, given now (session 22)
    (
        "Maseru a notifié son retrait, effectif à l'expiration du préavis d'un an.",
        "1997-01-15",
        "1998-01-15",
    ),
    (
        "Windhoek notificó su retirada, que será efectiva tras el preaviso de doce meses.",
        "2003-05-20",
        "2004-05-20",
    ),
    # the exit at the notice's end, told as happening now, falls due today
    (
        "Nouakchott quitte la Communauté au terme du préavis d'un an donné en décembre 1999.",
        "2000-12-27",
        "2000-12-27",
    ),
    # the end of the year of publication
    ("Kanada verlässt die Welttourismusorganisation zum Jahresende", "2001-03-05", "2001-12-31"),
    # the end of a year named by its number
    ("Britain will withdraw from UNESCO at the end of 1985", "1984-12-05", "1985-12-31"),
    ("Londres quittera l'Unesco à la fin de 1985", "1984-12-05", "1985-12-31"),
    ("Großbritannien verlässt die Unesco Ende 1985", "1984-12-05", "1985-12-31"),
    ("El Reino Unido dejará la Unesco a finales de 1985", "1984-12-05", "1985-12-31"),
    ("Великобритания выйдет из ЮНЕСКО в конце 1985 года", "1984-12-05", "1985-12-31"),
    # a day named ahead outranks a period counted back to today
    (
        "Le retrait, effectif au terme du préavis d'un an, le 2 septembre.",
        "2000-06-14",
        "2000-09-02",
    ),
    # hours round up to whole days; periods granted to someone
    ("Kyiv requests a meeting with Russia within 48 hours", "2022-02-13", "2022-02-15"),
    ("Moscow must answer within 36 hours, the OSCE chair said", "2022-02-13", "2022-02-15"),
    ("Iran gives Europe 60 days to save the nuclear deal", "2019-05-08", "2019-07-07"),
    ("Rohaní dio 60 días a los firmantes para proteger sus ventas", "2019-05-08", "2019-07-07"),
    (
        "A notice delivered on January 25 gives Islamabad 90 days to enter negotiations.",
        "2023-01-27",
        "2023-04-25",
    ),
    # a background paragraph: the period runs from the day it was set, earlier in the sentence
    (
        "The US secretary of state said on December 4 that Washington would suspend its "
        "obligations unless Moscow returned to compliance within 60 days.",
        "2019-01-16",
        "2019-02-02",
    ),
    (
        "On 24 October Honduras became the 50th state to ratify, so the ban enters into force "
        "in 90 days.",
        "2020-10-26",
        "2021-01-22",
    ),
    (
        "Nicaragua condemned the vote of 7 November. The exit takes effect two years later.",
        "2021-11-19",
        "2023-11-19",
    ),
    (
        "The exit will take effect one year after the notification was received on 2 June.",
        "2025-06-03",
        "2026-06-02",
    ),
    (
        "La denuncia surtirá efecto el 3 de noviembre, seis meses después.",
        "2007-05-03",
        "2007-11-03",
    ),
    ("The remaining parties have 60 days to shield Iran's oil sales.", "2019-05-08", "2019-07-07"),
    (
        "Le retrait prendra effet six mois après le dépôt des instruments, le 27 décembre 2025.",
        "2025-06-27",
        "2025-12-27",
    ),
    # a date in the future, or in another sentence, is not when the period was set
    ("Talks resume on 3 March. Russia must comply within 30 days.", "2019-02-20", "2019-03-22"),
    # months clamp to the last day of a shorter month
    ("The pact lapses in one month unless renewed.", "2024-01-31", "2024-02-29"),
    # periods counted from a date the text gives
    (
        "Notice was given on 4 November 2019; the exit takes effect one year later.",
        "2019-11-05",
        "2020-11-04",
    ),
    ("The withdrawal takes effect six months after 1 February 2019.", "2019-02-05", "2019-08-01"),
    ("They will notify on 22 May and leave six months later.", "2020-05-21", "2020-11-22"),
    # a strong date wins over a period, a period over a plain date
    ("A 60-day rollover of the deal, which expires on 18 March", "2023-03-13", "2023-03-18"),
    ("Signed on 3 June; ratification needed within 30 days", "2024-06-05", "2024-07-05"),
    # Russian, French, German, Spanish
    ("Срок действия договора истекает 5 февраля 2021 года", "2021-01-26", "2021-02-05"),
    ("Выход вступит в силу через шесть месяцев", "2019-02-01", "2019-08-01"),
    ("Le retrait prendra effet dans un an.", "2025-01-21", "2026-01-21"),
    ("L'accord est prolongé jusqu'au 17 juillet 2023.", "2023-05-17", "2023-07-17"),
    ("Les sanctions seront rétablies dans un délai de 30 jours.", "2025-08-28", "2025-09-27"),
    ("Der Vertrag läuft nun bis zum 5. Februar 2026.", "2021-02-03", "2026-02-05"),
    ("Das Abkommen tritt am 17. Januar 2026 in Kraft.", "2025-09-19", "2026-01-17"),
    ("Der Austritt wird in sechs Monaten wirksam.", "2019-02-01", "2019-08-01"),
    ("Binnen 30 Tagen treten die Sanktionen wieder in Kraft.", "2025-08-28", "2025-09-27"),
    ("El tratado vence el 5 de febrero de 2026.", "2025-10-01", "2026-02-05"),
    ("La salida será efectiva en seis meses.", "2025-06-27", "2025-12-27"),
    ("Entrará en vigor en 90 días.", "2020-10-24", "2021-01-22"),
    # a period counted back from a step done today, or one that runs out now: falls due today
    (
        "Riyadh is no longer a party to the pact, one year after notifying the UN.",
        "2024-01-05",
        "2024-01-05",
    ),
    (
        "It is no longer bound by the treaty as of today, six months after Bush gave notice.",
        "2002-06-13",
        "2002-06-13",
    ),
    ("Manila formally out of ICC as one-year notice period ends", "2019-03-17", "2019-03-17"),
    ("Sahel juntas formally outside ECOWAS as one-year notice lapses", "2025-01-29", "2025-01-29"),
    ("Morocco rejoins African Union after 33 years", "2017-01-30", "2017-01-30"),
    ("Readmitted, 33 years after it left the bloc.", "2017-01-30", "2017-01-30"),
    ("The withdrawal takes effect after six months.", "2019-02-01", "2019-08-01"),
    ("The one-year waiting period has run out; it is out.", "2026-01-22", "2026-01-22"),
    ("Se cumplió el plazo de dos años desde la denuncia.", "2023-11-19", "2023-11-19"),
    ("El tratado regirá para Chile dentro de 90 días.", "2022-06-13", "2022-09-11"),
    # a suspension for a set time ends when it is up
    ("Athen setzt Asylrecht für einen Monat aus", "2020-03-01", "2020-04-01"),
    ("Perú suspende garantías constitucionales por quince días", "2020-03-16", "2020-03-31"),
    ("Limita la libertad de reunión durante sesenta días.", "2020-03-17", "2020-05-16"),
    ("Moscow suspends the accord for 90 days", "2020-03-01", "2020-05-30"),
    ("Франция приостанавливает участие на три месяца", "2020-03-01", "2020-06-01"),
    # Russian names a single unit without a number
    ("По условиям пакта выход вступит в силу через год.", "1972-11-09", "1973-11-09"),
    # ... and counts back from a step done ("exactly a year after Tbilisi notified")
    (
        "Грузия официально вышла из СНГ ровно через год после того, как Тбилиси уведомил исполком.",
        "2009-08-18",
        "2009-08-18",
    ),
    # a month a deadline word points at, when no day is named
    ("New START, which expires in February 2021, was discussed.", "2019-07-17", "2021-02-01"),
    ("EU gives Britain until end of September to drop the clauses", "2020-09-10", "2020-09-30"),
    (
        "It notified the UN, two weeks after parliament voted. The exit will take effect one "
        "year after the notification was received on 2 June.",
        "2025-06-03",
        "2026-06-02",
    ),
    (
        "The exit takes effect after the six-month notice period runs out.",
        "2001-12-13",
        "2002-06-13",
    ),
]


@pytest.mark.parametrize(("text", "published", "expected"), CASES)
def test_extract_deadline_returns_the_hand_computed_due_date(
    text: str, published: str, expected: str
) -> None:
    """The stated or counted due date comes back as a date."""
    assert extract_deadline(text, _at(published)) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    "text",
    [
        "Russia and the US hold talks on the INF Treaty in Geneva",
        "The treaty was signed on 8 December 1987 by Reagan and Gorbachev.",
        "Finland will raise defence spending to 3% of GDP by 2029.",
        "Five-year-old treaty under review",
        "Russia suspended the treaty for 30 years",
        "Kyiv, which has restricted imports since 2014 for two years, objects.",
        # how long a pause lasts, and a year's end already past
        "Москва приостанавливает участие до конца 2025 года",
        "Parliament had approved the ratification at the end of 2019.",
        "",
    ],
)
def test_extract_deadline_returns_none_when_no_due_date_is_stated(text: str) -> None:
    """Text without a deadline, or with only a past plain date or a bare year, gives None."""
    assert extract_deadline(text, _at("2024-06-01")) is None


@pytest.mark.parametrize(
    "text",
    [
        "The Seimas voted to leave the convention. The withdrawal will take effect six months "
        "after the United Nations is notified.",
        "Путин подписал закон. После направления уведомления депозитариям выход вступит в силу "
        "через шесть месяцев.",
        "Das Parlament billigte den Austritt. Wirksam wird er ein Jahr nach Eingang der "
        "Notifikation beim UN-Generalsekretär.",
        "The ministry will notify the depositaries in the coming weeks; the exit takes effect six "
        "months after that notification.",
        "The exit will take effect six months after the UN receives the notification, and the "
        "timing of that has not been announced.",
    ],
)
def test_a_period_counted_from_a_notice_not_yet_given_has_no_day(text: str) -> None:
    """A vote, a law or a plan to notify starts no clock: the day the notice arrives is unknown,
    and a day counted from publication would be invented."""
    assert extract_deadline(text, _at("2024-07-18")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia notified the depositaries on Friday; the exit takes effect six months after the "
         "notification.", "2025-01-18"),
        ("Le Mali dénonce le traité, qui cessera de produire ses effets six mois après "
         "notification.", "2025-01-18"),
        ("El proceso dura dos años desde la notificación, entregada hoy.", "2026-07-18"),
    ],
)  # fmt: skip
def test_a_period_counted_from_a_notice_given_now_counts_from_publication(
    text: str, expected: str
) -> None:
    """A notice reported as given (notified, denounced, handed over) starts the clock today."""
    assert extract_deadline(text, _at("2024-07-18")) == date.fromisoformat(expected)


def test_extract_deadline_stays_fast_on_huge_hostile_text() -> None:
    """Text past the first 20,000 characters is not read, so a huge entry cannot stall matching."""
    text = "1 January " * 100_000 + "expires on 5 February 2026"
    assert extract_deadline(text, _at("2026-01-02")) is None


@pytest.mark.parametrize(
    ("text", "published", "due"),
    [
        # a notice's date named after "à compter du", a tax treaty that "cessera de s'appliquer"
        # or "dejará de aplicarse" on a day: that day, not the dateline's
        (
            "BUDAPEST, 20 mai (AFP) - Le gouvernement met fin au traité à compter du 25 mai.",
            datetime(1992, 5, 20, tzinfo=UTC),
            date(1992, 5, 25),
        ),
        (
            "El convenio de 1972 dejará de aplicarse el 1 de enero de 2009.",
            datetime(2008, 6, 10, tzinfo=UTC),
            date(2009, 1, 1),
        ),
        (
            "COPENHAGUE, 10 juin (AFP) - la convention, qui cessera de s'appliquer le 1er "
            "janvier 2009.",
            datetime(2008, 6, 10, tzinfo=UTC),
            date(2009, 1, 1),
        ),
    ],
)
def test_a_date_after_an_end_of_application_is_the_due_date(
    text: str, published: datetime, due: date
) -> None:
    assert extract_deadline(text, published) == due
