"""Dates as pages and posts write them -> ISO dates, as precise as written.

``normalize_date`` keeps a year or a month when that is all there is (no
day is made up); ``russian_date`` reads "7 февраля 2024 г." and the month
abbreviations sites use; ``date_is_stated`` tells a date a page writes out
from one a library guessed. Pure functions: text in, text out.
"""

from __future__ import annotations

import datetime
import re

__all__ = ["MONTH_NAMES", "date_is_stated", "normalize_date", "russian_date"]

_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?")


def normalize_date(value) -> str | None:
    """``'2023-01-05T10:00:00Z'`` -> ``'2023-01-05'``, ``'2021/6'`` -> ``'2021-06'``;
    keeps ``YYYY`` / ``YYYY-MM`` precision; None for anything that is not a plausible date."""
    match = _DATE.match(str(value).strip()) if value else None
    if not match:
        return None
    year, month, day = match.groups()
    if not 1800 <= int(year) <= 2200:
        return None
    if month is None:
        return year
    if not 1 <= int(month) <= 12:
        return year
    if day is None or not 1 <= int(day) <= 31:
        return f"{year}-{int(month):02d}"
    return f"{year}-{int(month):02d}-{int(day):02d}"


#: Month names by month number, as a regex: English, Russian (nominative,
#: genitive and abbreviated: "февраля", "фев", "февр."), and the German and
#: French ones htmldate also reads. Russian abbreviations are told apart by
#: their first three letters: "мар" is March, "мая" / "май" May.
MONTH_NAMES = (
    r"jan(?:uary)?|januar|janv(?:ier)?|январ[ья]|янв",
    r"feb(?:ruary)?|februar|f[ée]vr?(?:ier)?|феврал[ья]|февр?",
    r"mar(?:ch)?|m[äa]rz|mars|март[а]?|мар",
    r"apr(?:il)?|avr(?:il)?|апрел[ья]|апр",
    r"may|mai|ма[йя]",
    r"june?|juni|juin|июн[ья]?",
    r"july?|juli|juil(?:let)?|июл[ья]?",
    r"aug(?:ust)?|ao[ûu]t|август[а]?|авг",
    r"sept?(?:ember)?|septembre|сентябр[ья]|сент?",
    r"oct(?:ober)?|okt(?:ober)?|octobre|октябр[ья]|окт",
    r"nov(?:ember)?|novembre|ноябр[ья]|нояб?",
    r"dec(?:ember)?|dez(?:ember)?|d[ée]c(?:embre)?|декабр[ья]|дек",
)
_RUSSIAN_MONTH = "|".join(  # one named group per month: (?P<m1>январ[ья]|янв)|(?P<m2>...
    f"(?P<m{number}>{'|'.join(name for name in names.split('|') if re.match('[а-я]', name))})"
    for number, names in enumerate(MONTH_NAMES, start=1)
)
_RUSSIAN_DATE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\s+(?:{_RUSSIAN_MONTH})\.?(?![^\W\d_])(?:\s+(?P<year>\d{{4}})(?!\d))?", re.I
)


_RELATIVE_DAY = re.compile(r"(?<![^\W\d_])(сегодня|вчера|позавчера)(?![^\W\d_])", re.I)
_DAYS_AGO = {"сегодня": 0, "вчера": 1, "позавчера": 2}


def russian_date(text: str | None, *, today: datetime.date | None = None) -> str | None:
    """The first date written the Russian way in ``text`` as ``YYYY-MM-DD``:
    ``"7 февраля 2024 г."`` -> ``"2024-02-07"``, ``"3 мар 2024 в 10:00"`` ->
    ``"2024-03-03"``; None when there is none.

    A date without a year ("15 марта в 10:00": Habr shows none for this year's
    posts) is read only when ``today`` (the day the page was shown) is given:
    as the last such day not after ``today`` ("28 декабря" read on 5 January is
    last year's). So are "сегодня", "вчера" and "позавчера" ("вчера в 14:20":
    the day before ``today``)."""
    relative = _RELATIVE_DAY.search(text or "") if today is not None else None
    absolute = _absolute_russian_date(text or "", today)
    if relative is not None and (absolute is None or relative.start() < absolute[0]):
        return (today - datetime.timedelta(days=_DAYS_AGO[relative.group(1).lower()])).isoformat()
    return absolute[1] if absolute else None


def _absolute_russian_date(text: str, today: datetime.date | None) -> tuple[int, str] | None:
    """(where it starts, ``YYYY-MM-DD``) of the first day-and-month date in ``text``."""
    for match in _RUSSIAN_DATE.finditer(text):
        month = next(int(name[1:]) for name, value in match.groupdict().items() if value and name.startswith("m"))
        day = int(match.group("day"))
        if match.group("year"):
            years = [int(match.group("year"))]
        elif today is not None:
            years = [today.year, today.year - 1]
        else:
            continue
        for year in years:
            try:
                date = datetime.date(year, month, day)
            except ValueError:  # "31 февраля"; 29 февраля of a common year
                continue
            if match.group("year") or date <= today:
                return match.start(), normalize_date(date.isoformat())
    return None


def date_is_stated(date: str, text: str) -> bool:
    """True when ``text`` writes the day ``date`` (``YYYY-MM-DD``) out in full:
    ``2021-06-01``, ``20210601``, ``01.06.2021``, ``6/1/21``, ``1 June 2021``,
    ``June 1st, 2021``, ``1 июня 2021 г.``, ``Tue, 01 Jun 21``."""
    year, month, day = (int(part) for part in date.split("-"))
    y, m, d, name = rf"(?:{year}|{year % 100:02d})", rf"0?{month}", rf"0?{day}", rf"(?:{MONTH_NAMES[month - 1]})"
    forms = (
        rf"{year}[-/.]{m}[-/.]{d}",
        rf"{year}{month:02d}{day:02d}",
        rf"{d}[-/.]{m}[-/.]{y}",
        rf"{m}[-/.]{d}[-/.]{y}",
        rf"{d}(?:st|nd|rd|th|\.)?\s+(?:of\s+)?{name}\.?,?\s+{y}",
        rf"{name}\.?\s+{d}(?:st|nd|rd|th)?,?\s+{y}",
    )
    return re.search(rf"(?<![\w.-])(?:{'|'.join(forms)})(?!\d)", text, re.I) is not None
