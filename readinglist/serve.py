"""Serving the reading list with Datasette: ``readinglist serve`` and ``readinglist set-password``.

The database is always served under the name ``readinglist`` (whatever the
file is called), which is the name ``metadata.yml`` configures. Signing in as
the owner: a one-time root link printed at start (like ``datasette --root``),
or the password set by ``readinglist set-password``, checked by the
datasette-auth-passwords plugin; its hash lives in the user's config
directory, never in the repository, and reaches Datasette as plugin config in
memory.
"""

from __future__ import annotations

import ipaddress
import json
import os
from importlib import resources
from pathlib import Path

DATABASE = "readinglist"
OWNER = "owner"
PASSWORD_ENV = "READINGLIST_PASSWORD_FILE"
AUTH_PLUGIN = "datasette-auth-passwords"
# Facet suggestions scan every column of a million-row table on each page view.
SETTINGS = {"suggest_facets": False}


class ServeError(Exception):
    """Bad input to serve or set-password: the CLI prints ``Error: <message>``."""


def metadata_path() -> Path:
    """The packaged ``readinglist/metadata.yml`` (in a checkout, a link to the top-level ``metadata.yml``)."""
    return Path(str(resources.files("readinglist") / "metadata.yml"))


def load_metadata(path: str | os.PathLike | None = None) -> dict:
    from datasette.utils import BadMetadataError, parse_metadata

    path = Path(path) if path else metadata_path()
    try:
        metadata = parse_metadata(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ServeError(f"{path}: cannot read metadata ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise ServeError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except BadMetadataError as error:
        raise ServeError(f"{path}: {error}") from None
    # Datasette parses any YAML or JSON document, then fails on one that is not a mapping (or is empty).
    if not isinstance(metadata, dict):
        raise ServeError(f"{path}: metadata must be a mapping (title:, databases: ...)")
    return metadata


# ------------------------------------------------------------------ the owner's password


def password_file() -> Path:
    """Where ``set-password`` keeps the hash: ``$READINGLIST_PASSWORD_FILE``, else the user config dir."""
    if os.environ.get(PASSWORD_ENV):
        return Path(os.environ[PASSWORD_ENV])
    from platformdirs import user_config_dir

    return Path(user_config_dir("readinglist")) / "datasette-password.json"


def save_password(password: str, path: Path | None = None) -> Path:
    """Hash ``password`` (PBKDF2, as datasette-auth-passwords checks it) and store only the hash, mode 0600."""
    from datasette_auth_passwords.utils import hash_password

    if not password:
        raise ServeError("the password is empty")
    path = path or password_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps({"username": OWNER, "password_hash": hash_password(password)}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(data)
    os.chmod(path, 0o600)
    return path


def load_password_hash(path: Path | None = None) -> str | None:
    path = path or password_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ServeError(f"{path}: cannot read the password file ({error}); run readinglist set-password") from None
    value = data.get("password_hash") if isinstance(data, dict) else None
    if not isinstance(value, str) or value.count("$") != 3:
        raise ServeError(f"{path}: no password hash in it; run readinglist set-password")
    return value


# ------------------------------------------------------------------ Datasette


def register_plugin() -> None:
    """Make sure our plugin is loaded, also when the package was installed without its entry point."""
    from datasette.plugins import pm

    from . import datasette_plugin

    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name="readinglist")


def build_datasette(
    db_path: str | os.PathLike,
    *,
    metadata: dict | None = None,
    password_hash: str | None = None,
    settings: dict | None = None,
    secret: str | None = None,
):
    """A Datasette instance serving ``db_path`` as ``readinglist`` with our metadata and plugin.

    The database must exist and be migrated (``open_db`` does both).
    """
    from datasette.app import Datasette
    from datasette.database import Database

    register_plugin()
    metadata = dict(metadata if metadata is not None else load_metadata())
    if password_hash:
        plugins = dict(metadata.get("plugins") or {})
        plugins[AUTH_PLUGIN] = {**(plugins.get(AUTH_PLUGIN) or {}), f"{OWNER}_password_hash": password_hash}
        metadata["plugins"] = plugins
    ds = Datasette(
        [str(db_path)],
        metadata=metadata,
        settings={**SETTINGS, **(settings or {})},
        secret=secret,
    )
    (name,) = [name for name, db in ds.databases.items() if not db.is_memory]
    if name != DATABASE:
        ds.remove_database(name)
        ds.add_database(Database(ds, str(db_path), is_mutable=True), name=DATABASE)
    return ds


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sign_in_lines(ds, base_url: str, has_password: bool) -> list[str]:
    lines = [f"Sign in as the owner with this one-time link: {base_url}/-/auth-token?token={ds._root_token}"]
    if has_password:
        lines.append(f'Or sign in at {base_url}/-/login as "{OWNER}" with the password from readinglist set-password.')
    else:
        lines.append("No password is set: readinglist set-password sets one for signing in at /-/login.")
    return lines


def listen(host: str, port: int):
    """A socket bound to ``host:port``, taken before anything is printed; ServeError if it cannot be."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {_reason(error)}") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        hint = " (try another --port)" if error.errno == errno.EADDRINUSE else ""
        raise ServeError(f"cannot listen on {host}:{port}: {_reason(error)}{hint}") from None
    return sock


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def run(ds, sock) -> None:
    """Serve on ``sock`` (from :func:`listen`) until Ctrl-C, then return (uvicorn, one worker: Datasette keeps state in the process).

    Ctrl-C is how a server is stopped, not an error: uvicorn shuts down, then
    raises the SIGINT again (KeyboardInterrupt), which click would report as
    ``Aborted!`` with exit status 1; serving ends normally instead, as
    ``python -m http.server`` and Django's runserver do.
    """
    import asyncio

    import uvicorn
    from datasette.cli import check_databases

    try:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(ds.invoke_startup())
        loop.run_until_complete(check_databases(ds))
        uvicorn.Server(uvicorn.Config(ds.app(), log_level="warning", lifespan="on")).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
