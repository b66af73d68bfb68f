"""Author metadata as pages give it -> a tuple of names.

Pure: ``normalize_authors`` takes a string or strings and returns names, the
list ending in :data:`MORE_AUTHORS` when it names only some of them.
"""

from __future__ import annotations

import re

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
#: A name ending in an initial ("Петров А. В.", "Сидорова Е.Н.", "Smith J."): its final period is the initial's.
_ENDS_IN_INITIAL = re.compile(r"(?:^|[\s.\-])[^\W\d_]$")
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
    """``"Vaswani, Ashish"`` -> ``"Ashish Vaswani"``; anything else unchanged."""
    last, comma, first = name.partition(",")
    if comma and "," not in first and 0 < len(last.split()) <= 3 and 0 < len(first.split()) <= 4:
        return f"{first.strip()} {last.strip()}"
    return name


def normalize_authors(raw) -> tuple[str, ...]:
    """Author metadata -> a tuple of names.

    Accepts a string (``"By A, B and C"``, ``"A; B"``) or an iterable of them.
    Drops "By ...", e-mail addresses, URLs, placeholders and calls to action
    ("Read more", "Как стать автором"), strips a handle's
    ``@``, and dedupes case-insensitively, keeping the first spelling. A name
    keeps the period of its last initial ("Петров А. В."). Past ``MAX_AUTHORS``
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
        for part in parts:
            name = part
            while True:  # "By: Author: X"
                stripped = _AUTHOR_PREFIX.sub("", name.strip(" \t\"'“”«»()[]<>:.-–—"))
                if stripped == name:
                    break
                name = stripped
            name = re.sub(r"\s+", " ", name.lstrip("@")).strip(" \"'“”«»()[]<>:.,-–—")
            if _ENDS_IN_INITIAL.search(name) and f"{name}." in re.sub(r"\s+", " ", part):
                name += "."
            if (
                not name
                or len(name) > 80
                or len(re.findall(r"[^\W\d_]", name)) < 2
                or re.sub(r"[()]", "", name.lower()) in _NOT_A_NAME
                or CALL_TO_ACTION.match(name)
                or _CALL_TO_JOIN.match(name)
            ):
                continue
            if name.casefold() in names:
                continue
            if len(names) == MAX_AUTHORS:
                return (*names.values(), MORE_AUTHORS)
            names[name.casefold()] = name
    if more and names:
        return (*names.values(), MORE_AUTHORS)
    return tuple(names.values())
