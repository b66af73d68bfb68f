"""Language detection for fetched text: offline, with py3langid's bundled model.

The model is loaded on first use (about 0.7 s) and kept for the life of the
process, so a worker in a process pool pays it once. Classification is
restricted to the languages that a reading list fed by Russian- and
English-speaking ML channels actually meets: a closed set makes short texts far
less likely to come out as some unrelated language (py3langid's 97-language
model happily calls a short English title Latin or Frisian).
"""

from __future__ import annotations

import re
import threading

#: Languages the classifier may answer with (ISO 639-1 codes).
LANGUAGES: tuple[str, ...] = (
    "en", "ru", "uk", "be", "kk", "de", "fr", "es", "it", "pt", "nl", "pl",
    "cs", "tr", "zh", "ja", "ko", "ar", "he", "fa", "hi", "vi", "id",
)  # fmt: skip

#: Fewer letters than this and the text is too short to call.
MIN_LETTERS = 12
#: Below this normalized probability the answer is "undecidable" (None).
MIN_CONFIDENCE = 0.5
#: Only the start of a long text is classified: a paragraph or two is plenty
#: for the model, and its byte-by-byte Python loop costs ~1 ms per 1,000 bytes.
SAMPLE_CHARS = 1200

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_URL = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+")

_identifier = None
_lock = threading.Lock()


def _get_identifier():
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(LANGUAGES))
                _identifier = identifier
    return _identifier


def detect_language(text: str | None) -> str | None:
    """The language of ``text`` as an ISO 639-1 code, or None when it is too
    short or the model is unsure.

    >>> detect_language("Нейронные сети учатся на больших корпусах текстов.")
    'ru'
    """
    if not text:
        return None
    sample = _URL.sub(" ", text[:SAMPLE_CHARS])
    if len(_LETTER.findall(sample)) < MIN_LETTERS:
        return None
    try:
        language, confidence = _get_identifier().classify(sample)
    except Exception:  # the model never should, but a detector must not break extraction
        return None
    if confidence < MIN_CONFIDENCE:
        return None
    return language


def normalize_language_tag(tag: str | None) -> str | None:
    """``<html lang>`` / ``Content-Language`` / ``og:locale`` value -> primary
    language code: ``"ru-RU"`` and ``"en_US"`` become ``"ru"`` and ``"en"``.
    Returns None for empty or malformed tags (and for ``"x-default"``, ``"und"``)."""
    if not tag:
        return None
    primary = re.split(r"[-_,;\s]", tag.strip().lower(), maxsplit=1)[0]
    if not re.fullmatch(r"[a-z]{2,3}", primary) or primary in {"und", "mul", "zxx"}:
        return None
    return primary
