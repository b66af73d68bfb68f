"""Short summaries of fetched text: extractive and offline by default.

``summarize()`` picks 2-4 sentences of the text itself, so a summary is always
in the text's own language and never says anything the text does not:

1. Cut footnote markers glued to the text as Wikipedia prints them ("Hinton.[1]",
   "[citation needed]", "[нет источника]"; not "[0, 1]" after a space): they
   are not the sentence's words, and razdel does not end a sentence at ".[1]".
   Join the lines of a paragraph wrapped by hand (``HARD_WRAP_WIDTH``) and cut
   an abstract's label ("Abstract:The dominant…", arXiv's abstract page).
   Split into paragraphs (lines), then sentences with razdel (rule-based,
   handles Russian and English abbreviations such as "т.е." and "e.g.").
   razdel does not know the scholarly ones ("Fig. 2A", "Eq. 5", "approx. 100",
   "см. табл. 2"), so before it runs, the period of a known abbreviation
   (``ABBREVIATIONS``) followed by something that does not start a sentence (a
   digit, a lower-case letter, a bracket, a label such as "S1"; after "Dr.",
   "Prof.", "cf." or "e.g.", anything) is masked; sentences are then cut from the
   unmasked text at razdel's offsets. Masking rather than gluing razdel's
   pieces back together keeps "...in Ref. 5. We then..." split after "5.":
   razdel reads "5. We" right only when it does not follow a split.
2. Drop the sentences that repeat the page's title or a heading (given as
   ``headings``; words compared, so "Title." is dropped for the title "Title -
   Journal"), and cut a heading off the sentence it is glued to.
   Keep prose sentences only: 5+ words, ending in sentence punctuation, mostly
   letters, written in the text's script (Cyrillic for ru/uk/be/..., Latin for
   en/de/fr/...; in Russian text a sentence of mostly English terms counts
   when its function words are Russian: "Для fine-tuning мы используем LoRA
   adapters") and, in English text, English (one word in ten or more a
   function word: "the", "of", "and"), and not boilerplate ("Subscribe to
   our newsletter", "Читайте также", a paywall's "Get unlimited access" or
   "Оформите подписку", a bare URL), code, a citation
   export's markup (a BibTeX field ``abstract = "…``, an EndNote ``%X`` line)
   or a reference's quoted title ('"How to Use t-SNE Effectively".'), or a
   link's caption punctuated only inside its parentheses ("Connected Papers
   (What is Connected Papers?)").
3. Score each one by centrality plus position. Centrality is the sentence's
   mean cosine similarity to all the others over TF-IDF word vectors: the
   degree centrality of LexRank's similarity graph, computed in linear time as
   ``u_i · (Σ u_j − u_i)`` over unit vectors. Words are lower-cased, stopwords
   (short hand-written ru/en lists) dropped, and cut to their first 6 letters,
   a crude stemmer-free way to let "нейронных"/"нейронные" or
   "network"/"networks" meet. Position adds a lead bias, since news and blog
   posts put their point first: ``0.7 * centrality/max + 0.3 / sqrt(1 + i)``.
4. Take the best-scoring sentences that fit in ``max_chars`` (skipping ones
   that repeat a chosen sentence), at most 4, and print them in text order.
   Sentences are never cut; only when no prose sentence fits at all is the best
   one cut at a word boundary with "…" (the last resort).

Texts too short for that (fewer than 2 usable sentences) fall back to the
given ``fallback`` (the page description or paper abstract), trimmed to whole
sentences within ``max_chars``.

``summarize_with_llm()`` is the optional alternative through Simon Willison's
``llm`` library, for users who have a model configured; ``llm`` is imported
only there and is not a dependency.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from harvester.errors import HarvestError

MAX_SENTENCES = 4
MIN_SENTENCES = 2
MIN_WORDS = 5
#: Only this much of a long text is read: the lead bias makes later sentences
#: unlikely picks, and it keeps a book-length text as fast as an article.
MAX_INPUT_CHARS = 120_000
STEM_CHARS = 6
CENTRALITY_WEIGHT = 0.7
POSITION_WEIGHT = 0.3
#: A candidate this similar (cosine) to a chosen sentence adds nothing.
REDUNDANCY = 0.6

#: In English text, the least share of a sentence's words that are English
#: function words (``STOPWORDS["en"]``: the, of, and, ...). English prose has
#: several in ten; a French or German sentence of a bilingual page, in the same
#: script, next to none (HAL: an English page with the French abstract too).
MIN_ENGLISH_FUNCTION_WORDS = 0.1
#: In Russian text, a sentence with mostly Latin letters (English terms) still
#: reads as Russian with at least this many Russian function words ("для", "мы",
#: "на", "и"), more than it has English ones.
MIN_OWN_FUNCTION_WORDS = 2

CYRILLIC_LANGUAGES = {"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn"}
LATIN_LANGUAGES = {
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "cs", "sk", "sl", "hr", "ro", "hu",
    "fi", "sv", "da", "no", "tr", "id", "ms", "vi", "et", "lv", "lt", "ca", "eu", "gl",
}  # fmt: skip

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """a about above after again against all also am an and any are as at be because been before being
        below between both but by can could did do does doing down during each few for from further had has
        have having he her here hers herself him himself his how i if in into is it its itself just let me
        more most my myself no nor not now of off on once only or other our ours ourselves out over own same
        she should so some such than that the their theirs them themselves then there these they this those
        through to too under until up us very was we were what when where which while who whom why will with
        would you your yours yourself yourselves one two new may might must shall many much well even still
        get got use used using via per like however thus therefore""".split()
    ),
    "ru": frozenset(
        """а без более бы был была были было быть в вам вас весь во вот все всё всего всех вы где да даже
        для до его ее её ей ему если есть еще ещё же за здесь и из или им их к как какой когда который
        которая которые которых кто ли либо меня мне может можно мы на над надо наш не него нее неё нет
        ни них но ну о об однако он она они оно от очень по под после при про с со так также такой там
        те тем то того тоже той только том ты у уже хотя чего чей чем что чтобы чье эта эти это этого
        этой этом этот я себя свой своя свои своих раз два один одна можем будет будут нужно сейчас
        более менее между через""".split()
    ),
}

_CYRILLIC = re.compile(r"[\u0400-\u04ff]+")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]+")
_WORD = re.compile(r"[^\W\d_]+")
_URL = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+\.\w+")
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")
#: Sentence punctuation only inside a closing parenthesis: a link and its caption ("Connected Papers (What is
#: Connected Papers?)", arXiv's tool list), not a sentence; a sentence wholly in parentheses still is one.
_PUNCTUATED_ASIDE = re.compile(r"\([^()]*[.!?…][\"'»”’]*\)$")
#: Text wrapped by hand (arXiv's abstract as submitted, a plain-text file) breaks its sentences across lines: a
#: line this long that ends without sentence punctuation, followed by one that starts with a lower-case word, is
#: joined to it. A heading is shorter ("marzipanify" above "marzipanify is a tool…") or followed by a capital or
#: a name ("arXivLabs is…"); a line of page furniture before a sentence is longer (GitHub's search help).
HARD_WRAP_WIDTH = (40, 100)
_CONTINUED_LINE = re.compile(r"[ \t]*[a-zа-яё]+(?![^\W\d_])")
#: The label before a paper's abstract ("Abstract:The dominant…" on arXiv, "Аннотация: …"): not its first word.
_ABSTRACT_LABEL = re.compile(r"^[ \t]*(?:abstract|аннотация)[ \t]*:[ \t]*", re.IGNORECASE | re.MULTILINE)
#: A footnote or an editor's note as Wikipedia prints them, glued to the word or punctuation before it
#: ("Hinton.[1]", "embedding[a]", "[note 2]", "[citation needed]", "[нет источника]", a heading's "[edit]"):
#: cut from the text, while a bracket set off by a space ("in the interval [0, 1]") is the sentence's own.
_FOOTNOTE_MARKER = re.compile(
    r"\[(?:(?<=[^\W_]{2}\[)|(?<=[.,;:!?)\"'»”’\]]\[))"
    r"(?:\d{1,3}|[a-z]|(?:note|nb|n) \d{1,3}|edit|править(?: \| править код)?|[a-z][a-z '’-]{0,30}(?: needed|\?)"
    r"|dubious[^\]\n]{0,30}|нет источника|источник не указан[^\]\n]{0,30}|уточнить|прояснить|[а-яё][а-яё ]{0,30}\?)\]"
)
#: Lower-cased markers of site furniture: plain substrings.
BOILERPLATE_MARKERS = (
    "subscribe to our", "subscribe to the", "subscribe to my", "sign up for", "sign up to", " log in", " sign in",
    "newsletter", "cookie", "all rights reserved", "©", "(c) 20", "read more", "continue reading", "click here",
    "share this", "share on ", "follow us", "join our", "terms of use", "terms of service", "privacy policy",
    "advertisement", "sponsored", "подписывайтесь", "подписаться", "подпишитесь", "подписывайся", "реклам",
    "читайте также", "читать далее", "читать дальше", "читать полностью", "поделиться", "все права защищены",
    "войдите", "зарегистрир", "наш телеграм", "наш telegram", "нашем телеграм", "нашем telegram",
)  # fmt: skip
#: A paywall's pitch, lower-cased: what it says to the reader ("Get unlimited access", "Оформите подписку"),
#: not what an article says about subscriptions ("gives subscribers unlimited access", "можно оформить подписку").
PAYWALL_MARKERS = (
    "subscribe to continue", "subscribe to read", "subscribe to keep", "subscribe to unlock", "subscribe now",
    "subscribe today", "already a subscriber", "already subscribed", "already a member", "already have an account",
    "get unlimited access", "get full access", "get digital access", "enjoy unlimited access", "unlimited digital access",
    "for unlimited access", "start your free trial", "start a free trial", "start your trial", "begin your free trial",
    "cancel anytime", "cancel at any time", "unlock this article", "unlock this story", "unlock full access",
    "for subscribers only", "subscriber-only", "subscribers-only", "this article is for subscribers",
    "this story is for subscribers", "to keep reading", "to read the full article", "to read this article",
    "you've reached your", "you have reached your", "free articles left", "of your free articles", "become a member",
    "become a subscriber", "become a paid subscriber", "upgrade to premium", "upgrade to paid", "create a free account",
    "оформите подписку", "оформи подписку", "оформив подписку", "чтобы продолжить чтение", "чтобы продолжить читать",
    "чтобы читать дальше", "чтобы дочитать", "чтобы прочитать статью", "чтобы прочитать материал",
    "уже подписаны", "уже подписчик", "уже есть подписка", "уже оформили подписку", "уже есть аккаунт",
    "получите полный доступ", "получите неограниченный доступ", "неограниченный доступ ко всем",
    "безлимитный доступ ко всем", "этот материал доступен", "эта статья доступна", "продолжение доступно",
    "полный текст доступен", "попробуйте бесплатно", "начните бесплатный", "отменить можно в любой момент",
)  # fmt: skip
_BOILERPLATE_SUBSTRINGS = BOILERPLATE_MARKERS + PAYWALL_MARKERS


class SummarizerError(HarvestError):
    """A summary could not be made (the LLM path)."""


class SummarizerUnavailable(SummarizerError):
    """The requested summarizer cannot run here (library missing, unknown model, no key)."""


# --------------------------------------------------------------------------- sentences


#: Abbreviations razdel may take for a sentence end, written without their
#: final period; either case of the first letter matches ("Fig."/"fig.").
ABBREVIATIONS = (
    "Fig", "Figs", "Eq", "Eqs", "Sec", "Sect", "Tab", "Ref", "Refs", "approx", "et al", "Vol", "pp", "ca", "resp",
    "incl", "St", "Jr", "Inc", "Ltd", "Co", "рис", "табл", "см", "т.е", "т.к", "и т.д", "др", "стр", "гл", "ок",
)  # fmt: skip
#: Abbreviations matched in this case only ("no." ends sentences as a word).
ABBREVIATIONS_EXACT_CASE = ("No", "Nos")
#: Abbreviations that never end a sentence, so a capital after them does not
#: start one either: titles before a name ("Prof. Jones"; in this case only,
#: "5 ms." is milliseconds) and Latin ones before what they introduce ("cf. Table 2").
TITLES = ("Dr", "Prof", "Mr", "Mrs", "Ms")
NEVER_FINAL = ("cf", "e.g", "i.e", "vs")


def _either_case(word: str) -> str:
    return f"[{word[0].upper()}{word[0].lower()}]{re.escape(word[1:])}".replace(r"\ ", r"\s+")


#: An abbreviation right before a period (searched for just before each period
#: followed by a space: one regex scan of every position would cost as much as razdel).
_ABBREVIATION = re.compile(
    r"(?<![^\W_])(?:(?P<never_final>{never_final})|{others})\Z".format(
        never_final="|".join([*TITLES, *map(_either_case, NEVER_FINAL)]),
        others="|".join([*map(_either_case, ABBREVIATIONS), *ABBREVIATIONS_EXACT_CASE]),
    )
)
_LONGEST_ABBREVIATION = 12  # characters, with room for "et  al"
_PERIOD_BEFORE_SPACE = re.compile(r"\.(?=\s+(\S\S?))")
_NOT_A_SENTENCE_START = "([{"
#: What a masked period is replaced with while razdel reads the text: a letter,
#: so razdel sees one word ("Figǂ"); the text itself is never changed.
_MASK = "ǂ"


def _mask_abbreviations(paragraph: str) -> str:
    """``paragraph`` with the period of each abbreviation that does not end its
    sentence replaced by ``_MASK`` (same length, so razdel's offsets fit both)."""
    masked = None
    for period in _PERIOD_BEFORE_SPACE.finditer(paragraph):
        dot = period.start()
        abbreviation = _ABBREVIATION.search(paragraph, max(0, dot - _LONGEST_ABBREVIATION), dot)
        if abbreviation is None:
            continue
        following = period[1]
        first = following[0]
        if (
            first.isdigit()
            or first.islower()
            or first in _NOT_A_SENTENCE_START
            # "Prof. Jones", "cf. Table 2", "Fig. S1"
            or (first.isupper() and (abbreviation["never_final"] or following[1:].isdigit()))
        ):
            masked = masked or list(paragraph)
            masked[dot] = _MASK
    return "".join(masked) if masked else paragraph


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` in order, each verbatim except that runs of
    whitespace are collapsed. Lines are paragraphs: a sentence never spans two
    (so a heading is never glued to the sentence after it). A period of a
    known abbreviation ("Fig. 2", "approx. 5", "рис. 3") ends no sentence."""
    from razdel import sentenize

    sentences = []
    for paragraph in text.split("\n"):
        if not paragraph.strip():
            continue
        for sentence in sentenize(_mask_abbreviations(paragraph)):
            cleaned = " ".join(paragraph[sentence.start : sentence.stop].split())
            if cleaned:
                sentences.append(cleaned)
    return sentences


def _unwrapped(text: str) -> str:
    """``text`` with the lines of a hand-wrapped paragraph joined (``HARD_WRAP_WIDTH``)."""
    shortest, longest = HARD_WRAP_WIDTH
    lines = text.split("\n")
    joined = [lines[0]]
    for previous, line in zip(lines, lines[1:]):
        end = previous.rstrip()
        if (
            shortest <= len(end.lstrip()) <= longest
            and end[-1] not in ".!?…:;"
            and _CONTINUED_LINE.match(line)
        ):
            joined[-1] = f"{joined[-1].rstrip()} {line.lstrip()}"
        else:
            joined.append(line)
    return "\n".join(joined)


def _function_words(words: list[str], language: str) -> int:
    stopwords = STOPWORDS[language]
    return sum(word.lower() in stopwords for word in words)


def _script_ok(sentence: str, words: list[str], language: str | None, letters: int) -> bool:
    if not letters:
        return False
    if language in CYRILLIC_LANGUAGES:
        if sum(map(len, _CYRILLIC.findall(sentence))) >= 0.5 * letters:
            return True
        # Mostly Latin letters, yet Russian when its grammar is: technical writing keeps
        # its terms in English ("Для fine-tuning мы используем LoRA adapters ..."), while an
        # English or French sentence on the page has no Russian function words at all.
        if language in STOPWORDS:
            own = _function_words(words, language)
            return own >= MIN_OWN_FUNCTION_WORDS and own > _function_words(words, "en")
        return False
    if language in LATIN_LANGUAGES:
        return sum(map(len, _LATIN.findall(sentence))) >= 0.5 * letters
    return True


_SNAKE = re.compile(r"[^\W_]_[^\W_]")
_CALL = re.compile(r"\w\.\w+\(")
_CODE_START = re.compile(
    r"\s*(?:(?:def|class|function|fn|func)\s+\w+\s*[(:{<]|(?:var|let|const)\s+\w+\s*=|(?:import|from)\s+[\w.]+\s*(?:import\b|;|$))"
)
_CODE_TOKEN = re.compile(r"=>|==|!=|\+=|\(\);|\)\{|::|</|/>")
#: A line of a citation export that a page shows for copying: a BibTeX entry
#: (``@inproceedings{``) or field (``abstract = "…``, ``title = {…``), a
#: refer/EndNote tag (``%X …``), or XML (MODS: ``<abstract>…``).
_CITATION_MARKUP = re.compile(r"^\s*(?:\w+\s*=\s*[\"{]|%[A-Z0-9]\s|<[A-Za-z][\w:-]*>)|@\w+\s*\{|\w\s*=\s*\{")
_CODE_CHAR = re.compile(r"[=(){}\[\]<>;$\\|`]")
#: A source's title as a reference list quotes it, the period after the quotes ('"How to Use t-SNE
#: Effectively".', '"Visualizing Data Using t-SNE" (PDF).'): a title, not a sentence of the text.
_QUOTED_TITLE = re.compile(r"[\"“][^\"“”]+[\"”](?:\s*\([^()]*\))?\.")


def _looks_like_code(sentence: str) -> bool:
    """A line of source code, or of a citation export, rather than prose (cheap tests first: this runs on every sentence)."""
    if "_" in sentence and _SNAKE.search(sentence):
        return True
    if "(" in sentence and _CALL.search(sentence):
        return True
    if _CODE_TOKEN.search(sentence) or _CODE_START.match(sentence):
        return True
    if ("=" in sentence or "{" in sentence or sentence.startswith(("%", "<"))) and _CITATION_MARKUP.search(sentence):
        return True
    return len(_CODE_CHAR.findall(sentence)) > 4


def _is_boilerplate(sentence: str) -> bool:
    # Substring tests: a regex of the alternatives tries each one at every position (~1.3x slower).
    lowered = " " + sentence.lower()
    for marker in _BOILERPLATE_SUBSTRINGS:
        if marker in lowered:
            return True
    return False


def is_prose(sentence: str, language: str | None = None) -> bool:
    """True for a sentence worth quoting in a summary (rules in the module docstring)."""
    if len(sentence) < 25 or not _SENTENCE_END.search(sentence):
        return False
    if sentence[-1] == ")" and sentence[0] != "(" and _PUNCTUATED_ASIDE.search(sentence):
        return False
    words = _WORD.findall(sentence)
    if "://" in sentence or "www." in sentence or "@" in sentence:
        words = _WORD.findall(_URL.sub(" ", sentence))
    if len(words) < MIN_WORDS:
        return False
    letters = sum(map(len, words))
    if letters < 0.6 * (len(sentence) - sentence.count(" ")):
        return False
    if _is_boilerplate(sentence) or _looks_like_code(sentence) or not _script_ok(sentence, words, language, letters):
        return False
    if sentence[0] in "\"“" and _QUOTED_TITLE.fullmatch(sentence):
        return False
    if language == "en":
        return _function_words(words, "en") >= MIN_ENGLISH_FUNCTION_WORDS * len(words)
    return True


# --------------------------------------------------------------------------- headings

_TOKEN = re.compile(r"[^\W_]+")
#: A heading glued onto the sentence after it (one line: "Title Text of the
#: first sentence.") is cut off when it has at least this many words; a shorter
#: one ("Results") may just be how the sentence starts.
MIN_GLUED_HEADING_WORDS = 3


def _heading_keys(headings) -> list[tuple[str, int]]:
    """Each heading as its lower-cased words between spaces, with their count."""
    keys = []
    for heading in headings or ():
        if isinstance(heading, str):
            words = _TOKEN.findall(heading.lower())
            if words:
                keys.append((f" {' '.join(words)} ", len(words)))
    return keys


def _without_heading(sentence: str, heading_keys: list[tuple[str, int]]) -> str | None:
    """``sentence`` with a heading it starts with cut off; None when it is a
    heading, or part of one ("Title." out of the page title "Title - Journal").
    Words are compared, not characters: a heading's "?" or a title's site name
    does not make the sentence any less a copy of it."""
    tokens = list(_TOKEN.finditer(sentence))
    key = f" {' '.join(token[0].lower() for token in tokens)} "
    for heading, count in heading_keys:
        if key in heading:
            return None
        if count >= MIN_GLUED_HEADING_WORDS and key.startswith(heading):
            rest = sentence[tokens[count].start() :]
            if rest[:1].isupper():
                return rest
    return sentence


# --------------------------------------------------------------------------- scoring


def _terms(sentence: str, stopwords: frozenset[str]) -> list[str]:
    if "://" in sentence or "www." in sentence or "@" in sentence:
        sentence = _URL.sub(" ", sentence)
    return [word[:STEM_CHARS] for word in _WORD.findall(sentence.lower()) if len(word) > 1 and word not in stopwords]


def _unit_vectors(term_lists: list[list[str]]) -> list[dict[str, float]]:
    count = len(term_lists)
    document_frequency = Counter(term for terms in term_lists for term in set(terms))
    idf = {term: math.log(1 + count / df) for term, df in document_frequency.items()}
    vectors = []
    for terms in term_lists:
        weights = {term: (1 + math.log(tf)) * idf[term] for term, tf in Counter(terms).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({term: w / norm for term, w in weights.items()})
    return vectors


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())


def _scores(vectors: list[dict[str, float]]) -> list[float]:
    count = len(vectors)
    total: dict[str, float] = Counter()
    for vector in vectors:
        for term, weight in vector.items():
            total[term] += weight
    centrality = [(_dot(vector, total) - _dot(vector, vector)) / max(count - 1, 1) for vector in vectors]
    top = max(centrality, default=0.0) or 1.0
    return [CENTRALITY_WEIGHT * c / top + POSITION_WEIGHT / math.sqrt(1 + index) for index, c in enumerate(centrality)]


# --------------------------------------------------------------------------- summaries


def _join(sentences: list[str]) -> int:
    return sum(len(s) for s in sentences) + max(len(sentences) - 1, 0)


def _truncate(text: str, max_chars: int) -> str:
    cut = text[: max_chars - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def _trim_to_sentences(text: str, max_chars: int) -> str | None:
    """``text`` as whole sentences within ``max_chars`` (cut at a word as the last resort)."""
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) <= max_chars:
        return text
    chosen: list[str] = []
    for sentence in split_sentences(text):
        if _join([*chosen, sentence]) > max_chars:
            break
        chosen.append(sentence)
    return " ".join(chosen) if chosen else _truncate(text, max_chars)


def summarize(
    text: str,
    *,
    language: str | None = None,
    fallback: str | None = None,
    max_chars: int = 600,
    headings=(),
) -> str | None:
    """An extractive summary of ``text``: 2-4 of its sentences, in order, in at
    most ``max_chars`` characters. ``language`` (ISO 639-1) picks stopwords and
    the script a sentence must be written in; when None it is detected.
    ``headings`` are the page's title and headings: a sentence that repeats one
    is not quoted (a heading ending in "?" reads like prose).
    Falls back to ``fallback`` when the text has too little prose, and returns
    None when there is nothing at all. Deterministic; never raises on odd input.
    """
    if not isinstance(text, str):
        text = ""
    text = text[:MAX_INPUT_CHARS]
    if language is None and text:
        from harvester.language import detect_language

        language = detect_language(text)
    language = (language or "").lower()[:3] or None

    if "[" in text:
        text = _FOOTNOTE_MARKER.sub("", text)
    if "\n" in text:
        text = _unwrapped(text)
    if ":" in text:
        text = _ABSTRACT_LABEL.sub("", text)
    sentences = split_sentences(text) if text.strip() else []
    heading_keys = _heading_keys(headings)
    if heading_keys:
        sentences = [kept for kept in (_without_heading(s, heading_keys) for s in sentences) if kept]
    candidates = [(index, s) for index, s in enumerate(sentences) if is_prose(s, language)]
    if len(candidates) < MIN_SENTENCES:
        if fallback and isinstance(fallback, str) and fallback.strip():
            return _trim_to_sentences(fallback, max_chars)
        if not candidates:
            return None
        return _trim_to_sentences(candidates[0][1], max_chars)

    stopwords = STOPWORDS["en"] | STOPWORDS.get(language or "", frozenset())
    vectors = _unit_vectors([_terms(s, stopwords) for _, s in candidates])
    scores = _scores(vectors)
    ranking = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))

    chosen: list[int] = []
    for i in ranking:
        if len(chosen) == MAX_SENTENCES:
            break
        if _join([candidates[j][1] for j in chosen] + [candidates[i][1]]) > max_chars:
            continue
        if any(_dot(vectors[i], vectors[j]) > REDUNDANCY for j in chosen):
            continue
        chosen.append(i)
    if len(chosen) < MIN_SENTENCES:
        # The best sentence was long: a pair of good, shorter ones beats it.
        top = ranking[:12]
        pairs = [
            (scores[a] + scores[b], a, b)
            for n, a in enumerate(top)
            for b in top[n + 1 :]
            if _join([candidates[a][1], candidates[b][1]]) <= max_chars
        ]
        if pairs:
            _, a, b = max(pairs, key=lambda p: (p[0], -p[1], -p[2]))
            chosen = [a, b]
    if not chosen:  # every prose sentence is longer than max_chars
        return _truncate(candidates[ranking[0]][1], max_chars)
    return " ".join(candidates[i][1] for i in sorted(chosen))


def summary_of_abstract(abstract: str | None, *, language: str | None = None, max_chars: int = 600) -> str | None:
    """A paper's abstract as its summary: the abstract itself when it fits in
    ``max_chars``, else its extractive summary (whole sentences; its leading
    ones when it has too little prose to pick from). Whoever needs the whole
    abstract (the exports) keeps it apart."""
    if not abstract or not abstract.strip():
        return None
    if len(abstract) <= max_chars:
        return abstract
    return summarize(abstract, language=language, fallback=abstract, max_chars=max_chars)


# --------------------------------------------------------------------------- LLM (optional)

LLM_MAX_INPUT_CHARS = 24_000
LANGUAGE_NAMES = {"ru": "Russian", "en": "English", "uk": "Ukrainian", "de": "German", "fr": "French", "es": "Spanish"}
LLM_SYSTEM = "You summarize articles for a reading list. Answer with the summary only: no preamble, no markdown."


def llm_prompt(text: str, *, language: str | None = None, max_chars: int = 600) -> str:
    """The prompt ``summarize_with_llm`` sends."""
    in_language = f"in {LANGUAGE_NAMES[language]}" if language in LANGUAGE_NAMES else "in the language of the text"
    return (
        f"Summarize the following text in 2-4 sentences, {in_language}, "
        f"in at most {max_chars} characters. Say what it is about and its main point.\n\n"
        f"---\n{text[:LLM_MAX_INPUT_CHARS]}\n---"
    )


def check_llm_model(model_name: str) -> None:
    """Raise ``SummarizerUnavailable`` unless ``llm`` is installed and knows ``model_name`` (before a long run)."""
    try:
        import llm
    except ImportError as error:
        raise SummarizerUnavailable(
            "the llm summarizer needs the 'llm' library: pip install llm, then set up a model"
        ) from error
    try:
        llm.get_model(model_name)
    except Exception as error:  # llm.UnknownModelError
        raise SummarizerUnavailable(f"{model_name}: unknown llm model (`llm models` lists the installed ones)") from error


def summarize_with_llm(
    text: str,
    model_name: str,
    *,
    language: str | None = None,
    max_chars: int = 600,
) -> str | None:
    """A summary written by a model through the ``llm`` library (optional,
    never the default). Raises ``SummarizerUnavailable`` when ``llm`` is not
    installed, the model is unknown or has no key, and ``SummarizerError`` when
    the model call fails. The answer is trimmed to whole sentences within
    ``max_chars``; None for empty text or an empty answer."""
    try:
        import llm
    except ImportError as error:
        raise SummarizerUnavailable(
            "the llm summarizer needs the 'llm' library: pip install llm, then set up a model "
            "(e.g. llm keys set openai, or an offline plugin such as llm-gpt4all)"
        ) from error
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        model = llm.get_model(model_name)
    except Exception as error:  # llm.UnknownModelError
        raise SummarizerUnavailable(
            f"{model_name}: unknown llm model (`llm models` lists the installed ones)"
        ) from error
    try:
        response = model.prompt(llm_prompt(text, language=language, max_chars=max_chars), system=LLM_SYSTEM)
        answer = response.text()
    except Exception as error:
        if type(error).__name__ == "NeedsKeyException":
            raise SummarizerUnavailable(f"{model_name}: no API key configured (llm keys set ...)") from error
        raise SummarizerError(f"{model_name}: {error}") from error
    return _trim_to_sentences(answer or "", max_chars)
