"""Author metadata as pages give it -> a tuple of names.

Pure: ``normalize_authors`` takes a string or strings and returns names, the
list ending in :data:`MORE_AUTHORS` when it names only some of them.
"""

from __future__ import annotations

import re

from harvester.dates import MONTH_NAMES
from harvester.links import CALL_TO_ACTION

__all__ = ["MAX_AUTHORS", "MORE_AUTHORS", "is_byline", "last_first", "normalize_authors"]

#: Authors kept per item: enough for any paper but a big collaboration's
#: (thousands), and a bound on junk. When more are cut, ``MORE_AUTHORS`` is
#: added last: BibTeX's own word for them, which exports write as "and others".
MAX_AUTHORS = 500
MORE_AUTHORS = "others"


_AUTHOR_SPLIT = re.compile(r"\s*(?:[;,|\n/·•]|\s(?:and|&|und|et|и)\s)\s*", re.I)
_AUTHOR_PREFIX = re.compile(
    r"^(?:(?:written|posted|published|edited|text|photo)\s+by|by|from|author|authors|автор(?:ы)?|текст|от)\s*[:\-–—]?\s+",
    re.I,
)
#: "et al.", "and others", "и др.", "и соавт.": the list names only some of the authors.
_MORE_AUTHORS_MARKER = re.compile(
    r"(?<!\w)(?:et\.?\s*al(?:ii|ia)?\b\.?|(?:and|&)\s+others\b|и\s+(?:др\b\.?|другие\b|соавт\b\.?|соавторы\b))",
    re.I,
)
#: A name ending in an initial ("Петров А. В.", "Сидорова Е.Н.", "Smith J.") or in "Jr." / "Sr.": its final
#: period is the abbreviation's.
_ENDS_IN_INITIAL = re.compile(r"(?:^|[\s.\-])(?:[^\W\d_]|[JS]r)$")
#: A generational suffix, which belongs to the name before it ("John Smith, Jr.").
_SUFFIX = re.compile(r"(?:Jr|JR|Sr|SR|Jnr|Snr)\.?|I{2,3}|IV")
#: Academic degrees and ranks written after a name ("Jane Doe, PhD", "Иван Петров, к.т.н., доцент"). The
#: English ones as written (case matters: "Smith, DR" is D. R. Smith); the Russian ones in any case, as
#: trafilatura writes "к.т.н." as "К Т Н".
_DEGREE = (
    r"(?-i:Ph\.?\s?D\.?|PHD|D\.?\s?Phil\.?|D\.?\s?Sc\.?|M\.?\s?Sc\.?|B\.?\s?Sc\.?|Ed\.?\s?D\.?|Psy\.?\s?D\.?"
    r"|Esq\.?|Prof\.?|Professor(?:\s+(?:of|at|emeritus)\b.*)?|Dr\.?)"
    r"|[кд](?:\.\s*|\s+)(?:[а-яё]{1,6}(?:\.\s*-?\s*|\s*-\s*|\s+)){1,2}н\.?"  # к.т.н., д.ф.-м.н., к.пед.н.
    r"|(?:кандидат|доктор|канд\.|д-р)\s+[\w.\s-]{0,40}?наук|проф\.?|профессор|доц\.?|доцент|акад\.?|академик"
    r"|член-корр(?:\.|еспондент)(?:\s+[А-ЯЁ]{2,4})?|[свм]\.\s?н\.\s?с\."
    r"|(?:старший|ведущий|главный|младший)\s+научный\s+сотрудник"
)
#: Degrees written as capitals, which may also be a surname-first citation's initials
#: ("Smith, M.A." is M. A. Smith): taken for a degree only after a full name.
_BARE_DEGREE = "(?-i:{})".format(
    "|".join(
        r"\.?\s?".join(letters) + r"\.?"
        for letters in ("MD", "MA", "MS", "BA", "BS", "JD", "RN", "DO", "PE", "MBA", "MPH", "DDS", "DVM", "FRS", "CPA")
    )
)
_DEGREES = r"(?:\s*(?:[/&,]|\band\b|\bи\b)?\s*(?:{}|{}))*"  # more after the first: "PhD, MBA", "MD/PhD"
_CREDENTIAL = re.compile(rf"(?:{_DEGREE}){_DEGREES.format(_DEGREE, _BARE_DEGREE)}", re.I)
_BARE_CREDENTIAL = re.compile(rf"(?:{_BARE_DEGREE}){_DEGREES.format(_DEGREE, _BARE_DEGREE)}", re.I)
#: A job title where a name should be ("Jane Doe, Staff Writer", "Senior Editor at Example News", "редактор").
_ROLE = re.compile(
    r"(?:(?:senior|sr\.?|junior|staff|contributing|managing|executive|deputy|associate|assistant|special|chief|lead|"
    r"guest|freelance|copy|news|features?|science|tech(?:nology)?|business|politics|political|health|foreign|national|"
    r"international|digital|web|video|social\s+media|data|investigative|главный|старший|младший|научный|выпускающий|"
    r"ответственный|специальный|собственный|штатный|шеф-)\s*)*"
    r"(?:writer|editor(?:-in-chief|\s+in\s+chief|\s+at\s+large)?|editors|reporter|correspondent|contributor|columnist|journalist|"
    r"blogger|producer|photographer|critic|intern|редактор|корреспондент|спецкор|обозреватель|журналист|колумнист|"
    r"репортё?р|фотограф|редакция)"
    r"(?:\s+(?:at|of|for|в|по)\s+.{1,60})?",
    re.I,
)
#: The words of a date, a time or a reading time ("March 5, 2024", "Tue 5 Mar 2024 10:00 GMT",
#: "5 марта 2024 г.", "5 min read"), which a byline puts next to the name.
_WEEKDAYS = (
    r"mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?"
    r"|понедельник|вторник|среда|четверг|пятница|суббота|воскресенье|пн|вт|ср|чт|пт|сб|вс"
)
_DATE_WORD = re.compile(
    rf"\d+(?:st|nd|rd|th|го|е)?|\d{{1,2}}:\d\d|{'|'.join(MONTH_NAMES)}|{_WEEKDAYS}|am|pm|utc|gmt|[ecmp][sd]t|cet|cest|msk|мск"
    r"|at|on|of|the|в|г|года?|updated|published|posted|modified|edited|today|yesterday|ago|hours?|days?|mins?|minutes?|"
    r"read|reading|time|сегодня|вчера|назад|часа?|часов|дн[яей]|дня|мин|минут[аы]?|чтения|обновлено|опубликовано",
    re.I,
)
_DATE_CUE = re.compile(rf"\d|^(?:{_WEEKDAYS})$", re.I)


def _is_date(text: str) -> bool:
    """True when ``text`` is a date, a time or a reading time, not a person: every word is one of those."""
    words = re.findall(r"\d{1,2}:\d\d|[^\W_]+", text)
    return any(_DATE_CUE.search(word) for word in words) and all(_DATE_WORD.fullmatch(word) for word in words)


def _is_credential(text: str, name_before: str) -> bool:
    """True when ``text``, written after ``name_before``, is the person's degree, rank or job title,
    not another person: "PhD", "к.т.н.", "Staff Writer"; "MD" only after a full name."""
    text = text.strip()
    if _CREDENTIAL.fullmatch(text) or _ROLE.fullmatch(text):
        return True
    return len(name_before.split()) >= 2 and _BARE_CREDENTIAL.fullmatch(text) is not None


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_IN_NAME = re.compile(r"\S+://\S+|www\.\S+")
_NOT_A_NAME = {
    "admin", "administrator", "unknown", "anonymous", "staff", "editor", "editors", "guest", "none", "null",
    # a label where a name should be (a menu item, a byline's caption)
    # (compared without brackets: "Author(s)", "Автор(ы)")
    "by", "author", "authors", "auteur", "auteurs", "autor", "autoren", "autores", "autori", "автор", "авторы",
    "written by", "posted by",
}  # fmt: skip
#: A link's or button's text where a byline should be: besides one to follow the link (``CALL_TO_ACTION``:
#: "Read more", "Подробнее"), an invitation to write or subscribe ("Как стать автором", the button in the
#: header of every Habr page, which trafilatura takes for the byline of pages without one).
_CALL_TO_JOIN = re.compile(
    r"\W*(?:(?:как\s+)?(?:стать|станьте)\s+автором|become\s+an?\s+(?:author|contributor|writer)\b"
    r"|(?:subscribe|follow|подписаться|подпишитесь)\b)",
    re.I,
)


def is_byline(text: str) -> bool:
    """True when ``text`` credits an author ("by Simon Sarris", "Автор: Мария"): Substack ends every
    <title> with one where other sites put their name."""
    return bool(_AUTHOR_PREFIX.match(text.strip()))


def last_first(name: str) -> str:
    """``"Vaswani, Ashish"`` -> ``"Ashish Vaswani"``; anything else unchanged.

    What follows a name after a comma and is no part of it is dropped first: a
    degree or a job title (``"John Smith Jr., PhD"``, ``"Jane Doe, Staff
    Writer"``, ``"Иван Петров, к.т.н."``); a suffix stays with the name
    (``"King, Martin Luther, Jr."`` -> ``"Martin Luther King Jr."``)."""
    parts = [part.strip() for part in name.split(",")]
    while len(parts) > 1 and _is_credential(parts[-1], " ".join(parts[:-1])):
        parts.pop()
    suffix = f" {parts.pop()}" if len(parts) > 1 and _SUFFIX.fullmatch(parts[-1]) else ""
    if len(parts) == 1:
        return f"{parts[0]}{suffix}"
    last, first = parts if len(parts) == 2 else ("", "")
    if 0 < len(last.split()) <= 3 and 0 < len(first.split()) <= 4:
        return f"{first} {last}{suffix}"
    return name


def normalize_authors(raw) -> tuple[str, ...]:
    """Author metadata -> a tuple of names.

    Accepts a string (``"By A, B and C"``, ``"A; B"``) or an iterable of them.
    Drops "By ...", e-mail addresses, URLs, placeholders and calls to action
    ("Read more", "Как стать автором"), strips a handle's
    ``@``, and dedupes case-insensitively, keeping the first spelling. A name
    keeps the period of its last initial ("Петров А. В.") and its suffix
    ("John Smith, Jr." -> "John Smith Jr."); a date, a reading time, a degree
    or a job title next to it is no author ("By Jane Doe | March 5, 2024",
    "Jane Doe, PhD", "Jane Doe, Staff Writer"). Past ``MAX_AUTHORS``
    names, or when the list says it names only some ("et al.", "и др."), the
    rest become one ``MORE_AUTHORS``.

    >>> normalize_authors("By Jane Doe, John Roe and jane doe (jane@example.org)")
    ('Jane Doe', 'John Roe')
    >>> normalize_authors("Иванов И. И. и др.")
    ('Иванов И. И.', 'others')
    """
    if not raw:
        return ()
    values = [raw] if isinstance(raw, str) else [str(item) for item in raw if item]
    names: dict[str, str] = {}
    more = False  # the list said it names only some of the authors
    for value in values:
        value = _URL_IN_NAME.sub(" ", _EMAIL.sub(" ", value))
        value = re.sub(r"\(\s*\)|\[\s*\]|<\s*>", " ", value)
        value, markers = _MORE_AUTHORS_MARKER.subn(" ", value)
        more = more or bool(markers)
        if ";" in value:
            # "Vaswani, Ashish; Shazeer, Noam" (citation_author lists): the
            # semicolons separate authors, a comma inside one is "Last, First".
            parts = [last_first(part) for part in re.split(r"\s*;\s*", value)]
        else:
            parts = _AUTHOR_SPLIT.split(value)
        people: list[str] = []  # the names this value gives, in order
        for part in parts:
            name = part
            while True:  # "By: Author: X"
                stripped = _AUTHOR_PREFIX.sub("", name.strip(" \t\"'“”«»()[]<>:.-–—"))
                if stripped == name:
                    break
                name = stripped
            name = re.sub(r"\s+", " ", name.lstrip("@")).strip(" \"'“”«»()[]<>:.,-–—·•|")
            if _ENDS_IN_INITIAL.search(name) and f"{name}." in re.sub(r"\s+", " ", part):
                name += "."
            if people and _SUFFIX.fullmatch(name):  # "John Smith, Jr."
                people[-1] = f"{people[-1]} {name}"
                continue
            if (
                not name
                or len(name) > 80
                or len(re.findall(r"[^\W\d_]", name)) < 2
                or re.sub(r"[()]", "", name.lower()) in _NOT_A_NAME
                or _is_date(name)  # "By Jane Doe | March 5, 2024"
                or _is_credential(name, people[-1] if people else "")  # "Jane Doe, PhD", "Jane Doe, Staff Writer"
                or CALL_TO_ACTION.match(name)
                or _CALL_TO_JOIN.match(name)
            ):
                continue
            people.append(name)
        for name in people:
            if name.casefold() in names:
                continue
            if len(names) == MAX_AUTHORS:
                return (*names.values(), MORE_AUTHORS)
            names[name.casefold()] = name
    if more and names:
        return (*names.values(), MORE_AUTHORS)
    return tuple(names.values())
