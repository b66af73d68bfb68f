"""Citation keys: ``authorYEARfirstword``, unique, and the same for an item every time.

A key is derived once, the first time an item is exported, and stored in the
``citekeys`` table; later exports reuse it even if the item's title or authors
change, or other items with the same base key arrive. Collisions get a letter:
the first item keeps ``vaswani2017attention``, the next ones get
``vaswani2017attentiona``, ``...b``, ``...c`` (the Better BibTeX convention),
assigned in the order the items were added. A key never moves to another item.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from itertools import count, product
from string import ascii_lowercase

import sqlite_utils

from .records import Person

CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
LATIN = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
# Words skipped when picking the title's first word: articles, prepositions, conjunctions.
STOPWORDS = {
    "a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "at", "by", "from", "is", "are", "how",
    "what", "why", "when", "do", "does", "towards", "toward", "via", "into", "about", "as", "or", "your", "our",
    "и", "в", "во", "на", "о", "об", "с", "со", "к", "ко", "по", "для", "из", "от", "до", "за", "как", "что",
    "или", "а", "но", "не", "это", "про", "при", "у",
}


def ascii_fold(text: str) -> str:
    """Lowercase ASCII: Cyrillic transliterated, accents dropped, anything else removed."""
    # Transliterate on composed text: NFKD would split "й" into "и" + a breve.
    mapped = "".join(CYRILLIC.get(ch, LATIN.get(ch, ch)) for ch in unicodedata.normalize("NFC", text.lower()))
    return "".join(ch for ch in unicodedata.normalize("NFKD", mapped) if ch.isascii())


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ascii_fold(text))


def author_part(person: Person | None) -> str:
    if person is None:
        return ""
    if person.is_literal:
        # A short organization name whole ("Hugging Face" -> huggingface), a long one by its first word.
        words = [word for word in person.literal.split() if _alnum(word)]
        return _alnum("".join(words)) if len(words) <= 2 else _alnum(words[0])
    return _alnum(person.family)


def title_part(title: str | None) -> str:
    if not title:
        return ""
    title = re.sub(r"(?<=\w)['’](?=\w)", "", title)  # "Let's" -> "Lets"
    for word in re.split(r"[\s\-/:,.;!?()\[\]{}\"'«»“”„‘’—–]+", title):
        folded = _alnum(word)
        if folded and word.lower() not in STOPWORDS and folded not in STOPWORDS:
            return folded
    return ""


def base_key(authors: list[Person], year: int, title: str | None, repo: str | None = None) -> str:
    """``vaswani2017attention``: first author's family name, year, first significant title word.

    ``repo``: the item's ``owner/name`` (GitHub) or Hugging Face id. A title that starts with it
    ("yandex/YaFSDP: ...") gives the name as its first word (``yandex2024yafsdp``): the owner
    is the author already.
    """
    author = author_part(authors[0] if authors else None) or "anon"
    if repo and title:
        owner_name = "/".join(repo.split("/")[-2:])
        if title[: len(owner_name)].lower() == owner_name.lower():
            title = title[len(owner_name.split("/")[0]) + 1 :]
    return f"{author[:30]}{year}{title_part(title)[:30]}"


def suffixes():
    """'', 'a'..'z', 'aa'..'zz', ...: the disambiguating letters in order."""
    yield ""
    for length in count(1):
        for letters in product(ascii_lowercase, repeat=length):
            yield "".join(letters)


def assign(db: sqlite_utils.Database, wanted: list[tuple[str, str]], *, store: bool = True) -> dict[str, str]:
    """Keys for ``wanted`` ``(item_id, base_key)`` pairs, in that order; stored keys win.

    New keys are stored in the same transaction that reads the taken ones, so
    two exports never hand one key to two items; with ``store=False`` they are
    only handed out (a later export may give them to other items).
    """
    if not wanted:
        return {}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    keys: dict[str, str] = {}
    with db.conn:
        stored = dict(db.execute("SELECT item_id, citekey FROM citekeys").fetchall())
        taken = set(stored.values())
        new_rows = []
        for item_id, base in wanted:
            if item_id in stored:
                keys[item_id] = stored[item_id]
                continue
            if item_id in keys:
                continue
            key = next(base + suffix for suffix in suffixes() if base + suffix not in taken)
            taken.add(key)
            keys[item_id] = key
            new_rows.append((item_id, key, now))
        if new_rows and store:
            db.conn.executemany("INSERT INTO citekeys(item_id, citekey, assigned_at) VALUES (?, ?, ?)", new_rows)
    return keys
