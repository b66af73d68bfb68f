"""Do two paper titles name the same work, and is this the author the post named?

Used to accept a search result for a title that a post cites without a link.
A wrong paper on someone's reading list is worse than a missing one, so the
rules are strict and one-sided:

* :func:`normalize` folds what differs between a post and a catalogue without
  changing the work: case, Unicode compatibility forms and diacritics
  (``Schölkopf`` = ``Scholkopf``), dashes and quotes, all punctuation,
  LaTeX-ish markup in arXiv titles (``$\\infty$-former``, ``\\emph{...}``),
  ``&`` = ``and``, whitespace.
* :func:`titles_agree`: the normalized titles have a similarity of at least
  0.9 (:func:`similarity`, difflib's ratio over characters) *and* every word
  that differs is only a typo or spelling variant (``Quantisation`` /
  ``Quantization``, ``Model`` / ``Models``, ``Pre-training`` /
  ``Pretraining``) or a small function word (``a``, ``the``, ``of``...). A
  differing number (``FlashAttention-2``, ``Part 3.1`` / ``Part 3.2``,
  ``GPT-4`` / ``GPT-4o``) or an added negation (``Attention is not all you
  need``) is a different paper, however similar the strings.
* :func:`surname_matches`: a surname the post gives must be one of the
  result's author names, compared after the same folding. Cyrillic surnames
  (``Малиновский и др.``) are transliterated with a simple table and compared
  on a spelling skeleton (``y``/``j``/``ii`` -> ``i``, ``kh`` -> ``h``...), so
  ``Малиновский`` = ``Malinovskii`` = ``Malinovskiy``; other scripts must match
  the Latin spelling exactly.

Everything here is pure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

__all__ = [
    "THRESHOLD",
    "normalize",
    "similarity",
    "titles_agree",
    "surname_key",
    "surname_matches",
    "word_count",
    "Choice",
    "choose",
    "RESOLVED",
    "NO_MATCH",
    "AUTHOR_MISMATCH",
    "AMBIGUOUS",
]

THRESHOLD = 0.9

# Words whose presence or absence does not make another paper.
MINOR_WORDS = frozenset(
    "a an the of for and on in with to via by at from into towards toward as its their our".split()
)
# Words that flip a title's meaning: "Attention is not all you need".
NEGATIONS = frozenset("not no without non un never nor beyond against".split())
# Two differing words are a spelling variant or typo at this character similarity.
TYPO_RATIO = 0.8

# \'e, \"{o}, \v{c}: the letter stays. Letter accents (\v, \c...) need braces, or they would eat \textbf.
_LATEX_ACCENT = re.compile(r"""\\[`'^"~=.]\{?([A-Za-z])\}?|\\[uvHcdbtk]\{([A-Za-z])\}""")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?|\\.")
_NON_WORD = re.compile(r"[\W_]+")


def _strip_latex(text: str) -> str:
    if "\\" not in text and "$" not in text and "{" not in text:
        return text
    text = _LATEX_ACCENT.sub(lambda m: m.group(1) or m.group(2), text)
    # Commands go, their {arguments} stay: \emph{Deep} -> Deep, $\infty$ -> "".
    text = _LATEX_COMMAND.sub(" ", text)
    return text.replace("$", " ").replace("{", "").replace("}", "")


def _fold(text: str) -> str:
    """NFKD, combining marks dropped, casefolded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize(title: str | None) -> str:
    """A title folded for comparison: ``"PV-Tuning: Beyond…"`` -> ``"pv tuning beyond"``."""
    if not title:
        return ""
    text = _fold(_strip_latex(title)).replace("&", " and ")
    return " ".join(_NON_WORD.sub(" ", text).split())


def word_count(title: str | None) -> int:
    return len(normalize(title).split())


def similarity(a: str | None, b: str | None) -> float:
    """Character similarity (0..1) of the normalized titles: difflib's ratio."""
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    return SequenceMatcher(None, na, nb, autojunk=False).ratio()


def _has_digit(word: str) -> bool:
    return any(c.isdigit() for c in word)


def _same_word(x: str, y: str) -> bool:
    """Whether two differing words are one word spelled two ways."""
    if x == y:
        return True
    if _has_digit(x) or _has_digit(y):
        return False
    if x in NEGATIONS or y in NEGATIONS:
        return False
    if x in MINOR_WORDS and y in MINOR_WORDS:
        return True
    return SequenceMatcher(None, x, y, autojunk=False).ratio() >= TYPO_RATIO


def _words_compatible(a: list[str], b: list[str]) -> bool:
    """Every differing run of words is a spelling variant, a joined/split word or a minor word."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        left, right = a[i1:i2], b[j1:j2]
        if "".join(left) == "".join(right):
            continue  # "pre training" / "pretraining"
        if not left or not right:
            if all(word in MINOR_WORDS for word in left + right):
                continue
            return False
        if len(left) == len(right):
            if all(_same_word(x, y) for x, y in zip(left, right)):
                continue
            return False
        if _same_word("".join(left), "".join(right)) and not any(w in NEGATIONS for w in left + right):
            continue
        return False
    return True


def titles_agree(a: str | None, b: str | None, threshold: float = THRESHOLD) -> bool:
    """Whether titles ``a`` and ``b`` name the same work (see the module docstring)."""
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    if SequenceMatcher(None, na, nb, autojunk=False).ratio() < threshold:
        return False
    return _words_compatible(na.split(), nb.split())


# ---------------------------------------------------------------- surnames

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    "і": "i", "ї": "i", "є": "e", "ґ": "g",
}  # fmt: skip
# Spelling variants of transliterations, applied in order to both sides.
_SKELETON = (("shch", "sch"), ("kh", "h"), ("ck", "k"), ("ph", "f"), ("ks", "x"), ("w", "v"), ("y", "i"), ("j", "i"))
_DOUBLE = re.compile(r"(.)\1+")


def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in text)


def surname_key(name: str) -> str:
    """A surname folded for comparison; Cyrillic transliterated and reduced to a spelling skeleton."""
    lowered = name.casefold()
    cyrillic = _is_cyrillic(lowered)
    # Transliterate before NFKD, which would split й into и + breve.
    if cyrillic:
        lowered = "".join(_CYRILLIC.get(c, c) for c in lowered)
    folded = _NON_WORD.sub("", _fold(lowered))
    if cyrillic:
        return _skeleton(folded)
    return folded


def _skeleton(word: str) -> str:
    for old, new in _SKELETON:
        word = word.replace(old, new)
    return _DOUBLE.sub(r"\1", word)


def surname_matches(surname: str, authors) -> bool:
    """Whether ``surname`` (as a post wrote it) is the surname of one of ``authors`` ("First Last" strings)."""
    key = surname_key(surname)
    if not key:
        return False
    cyrillic = _is_cyrillic(surname)
    for author in authors or ():
        words = [w for w in re.split(r"[\s,.\-]+", author) if w]
        # Multi-word surnames ("van der Maaten", "del Baño Rollin"): any trailing run of the name.
        tails = {surname_key("".join(words[i:])) for i in range(len(words))} | {surname_key(w) for w in words}
        if cyrillic:
            if key in {_skeleton(t) for t in tails if t}:
                return True
        elif key in tails:
            return True
    return False


# ---------------------------------------------------------------- choosing a search result

# Without an author to check, a title this short could name several works.
MIN_WORDS_WITHOUT_AUTHOR = 4

RESOLVED, NO_MATCH, AUTHOR_MISMATCH, AMBIGUOUS = "resolved", "no match", "author mismatch", "ambiguous"


@dataclass(frozen=True)
class Choice:
    """What a list of search results says about a cited title.

    ``outcome`` is ``resolved`` (``work`` is the paper), ``no match`` (no result
    has the title), ``author mismatch`` (results with the title, none by the
    named author) or ``ambiguous`` (several different works fit, or the title is
    too short to trust with no author named).
    """

    outcome: str
    work: object | None = None
    detail: str = ""


def choose(title: str, surnames, works) -> Choice:
    """The one work among ``works`` (objects with ``title``, ``authors``, ``url``) that ``title`` cites, if any.

    Accepted only when exactly one distinct work has an agreeing title and,
    when ``surnames`` are given, every surname among its authors.
    """
    surnames = [s for s in surnames or () if s]
    agreeing = [work for work in works if getattr(work, "url", None) and titles_agree(title, work.title)]
    if not agreeing:
        return Choice(NO_MATCH, detail=f"no title agrees among {len(works)} results")
    if surnames:
        by_author = [w for w in agreeing if all(surname_matches(s, w.authors) for s in surnames)]
        if not by_author:
            return Choice(AUTHOR_MISMATCH, detail=f"{', '.join(surnames)} not among the authors of {agreeing[0].url}")
        agreeing = by_author
    distinct = list({work.url: work for work in agreeing}.values())
    if len(distinct) > 1:
        return Choice(AMBIGUOUS, detail="several works fit: " + ", ".join(w.url for w in distinct[:3]))
    if not surnames and word_count(title) < MIN_WORDS_WITHOUT_AUTHOR:
        return Choice(AMBIGUOUS, detail=f"a title of under {MIN_WORDS_WITHOUT_AUTHOR} words and no author named")
    return Choice(RESOLVED, distinct[0], detail=distinct[0].url)
