"""Domain exceptions of the harvester. The CLI turns them into ``Error: ...`` lines."""

import re


class HarvestError(Exception):
    """Base class for problems with the user's input."""


class SourceError(HarvestError):
    """An input that cannot be read or parsed. ``str()`` is the one-line reason."""

    def __init__(self, source: str, message: str):
        self.source = source
        self.message = message
        super().__init__(f"{source}: {message}")


class UnknownFormatError(SourceError):
    """The content matches none of the known source formats."""


# Error texts that quote a request header: h11 quotes the whole header it refuses
# ("Illegal header value b'Bearer ghp_...'"), and others echo Authorization.
_QUOTED_HEADER = re.compile(r"""(Illegal header (?:name|value)) b?(?:'(?:\\.|[^'\\])*'?|"(?:\\.|[^"\\])*"?|\S+)""")
_HEADER_SECRET = re.compile(r"((?:Proxy-)?Authorization|Zotero-API-Key|X-API-Key|Cookie)(['\"]?\s*[:=]\s*)[^,;}\s]+(?:\s+[^,;}\s]+)?", re.I)
_SCHEME_SECRET = re.compile(r"\b(Bearer|Basic|Digest)\s+[^\s'\",;]+")
_KNOWN_TOKEN = re.compile(r"\b(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]+")
HIDDEN = "(hidden)"


def redact_secrets(message: str) -> str:
    """``message`` without request headers it quotes or credentials it shows.

    Error texts are stored (``items.last_error``) and shown to anyone who can
    read the reading list, Datasette's anonymous visitors included; a token
    in them is a leaked token.
    """
    message = _QUOTED_HEADER.sub(rf"\1 {HIDDEN}", message)
    message = _HEADER_SECRET.sub(rf"\1\2{HIDDEN}", message)
    message = _SCHEME_SECRET.sub(rf"\1 {HIDDEN}", message)
    return _KNOWN_TOKEN.sub(HIDDEN, message)
