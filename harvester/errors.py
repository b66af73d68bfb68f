"""Domain exceptions of the harvester. The CLI turns them into ``Error: ...`` lines."""


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
