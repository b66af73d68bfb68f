"""A local fake of the Zotero Web API v3, strict about what clients send.

It serves one library over real HTTP on 127.0.0.1 and follows the API docs
(https://www.zotero.org/support/dev/web_api/v3/basics and /write_requests):

* every request needs the API key (``Zotero-API-Key`` or
  ``Authorization: Bearer``) and ``Zotero-API-Version: 3``;
* ``POST /items`` and ``POST /collections`` take at most 50 objects (413
  beyond), JSON bodies, and answer ``{"successful", "success", "unchanged",
  "failed"}`` keyed by the object's index;
* creating needs a ``Zotero-Write-Token`` (a reused one gets 412); updating an
  object needs its current ``version``; ``If-Unmodified-Since-Version`` older
  than the library gets 412 for the whole request;
* item types, their fields and creator types are checked against the part of
  the Zotero schema the tests use; child notes need an existing parent;
* library and object versions advance on every write, as on the real server;
* multi-object reads return 25 objects unless ``limit`` asks for more (at most
  100), from ``start``, with ``Total-Results`` and a ``Link`` to the next page.

``GET /keys/current`` tells the key's user and access (:attr:`FakeZotero.key_access`,
write access to the library unless a test takes it away); an unknown key gets 403.

Faults are scripted: :meth:`FakeZotero.fail_next` answers the next requests
with a status and headers (429 + ``Retry-After``, 503, ...), :meth:`backoff_next`
adds a ``Backoff`` header, and :meth:`edit` changes an item as a user would in
Zotero. ``violations`` lists every malformed request; tests assert it is empty.
"""

from __future__ import annotations

import json
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

KEY_CHARS = "23456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
COMMON_FIELDS = {"title", "abstractNote", "date", "url", "accessDate", "language", "shortTitle", "rights", "extra"}
LIBRARY_FIELDS = {"archive", "archiveLocation", "libraryCatalog", "callNumber"}
ITEM_FIELDS = {
    "preprint": COMMON_FIELDS | LIBRARY_FIELDS | {"genre", "repository", "archiveID", "place", "series", "seriesNumber", "DOI"},
    "journalArticle": COMMON_FIELDS | LIBRARY_FIELDS | {"publicationTitle", "volume", "issue", "pages", "series",
                                                       "seriesTitle", "seriesText", "journalAbbreviation", "DOI", "ISSN"},
    "conferencePaper": COMMON_FIELDS | LIBRARY_FIELDS | {"proceedingsTitle", "conferenceName", "place", "publisher",
                                                        "volume", "pages", "series", "DOI", "ISBN"},
    "book": COMMON_FIELDS | LIBRARY_FIELDS | {"series", "seriesNumber", "volume", "numberOfVolumes", "edition", "place",
                                             "publisher", "numPages", "ISBN"},
    "bookSection": COMMON_FIELDS | LIBRARY_FIELDS | {"bookTitle", "series", "seriesNumber", "volume", "numberOfVolumes",
                                                    "edition", "place", "publisher", "pages", "ISBN"},
    # computerProgram has no `language` field (programmingLanguage instead).
    "computerProgram": (COMMON_FIELDS - {"language"}) | LIBRARY_FIELDS | {"seriesTitle", "versionNumber", "system",
                                                                          "place", "company", "programmingLanguage", "ISBN"},
    "dataset": COMMON_FIELDS | LIBRARY_FIELDS | {"identifier", "type", "versionNumber", "repository",
                                                "repositoryLocation", "format", "DOI"},
    "videoRecording": COMMON_FIELDS | LIBRARY_FIELDS | {"videoRecordingFormat", "seriesTitle", "volume",
                                                       "numberOfVolumes", "place", "studio", "runningTime", "ISBN"},
    # webpage has no library-catalog fields.
    "webpage": COMMON_FIELDS | {"websiteTitle", "websiteType"},
}
CREATOR_TYPES = {
    "computerProgram": {"programmer", "contributor"},
    "videoRecording": {"director", "castMember", "contributor", "producer", "scriptwriter"},
}
DEFAULT_CREATOR_TYPES = {"author", "contributor", "editor"}
DEFAULT_LIMIT, MAX_LIMIT = 25, 100  # objects a multi-object read returns unless asked for more, and at most
OBJECT_PROPERTIES = {"key", "version", "itemType", "creators", "tags", "collections", "relations", "deleted"}


def _set_type(item: dict, new_type: str | None) -> None:
    """As Zotero's ``setType``: a new type clears the fields it has no place for."""
    if new_type and new_type != item["data"]["itemType"] and new_type in ITEM_FIELDS:
        kept = ITEM_FIELDS[new_type] | OBJECT_PROPERTIES | {"key", "version"}
        item["data"] = {name: value for name, value in item["data"].items() if name in kept}


def new_key() -> str:
    return "".join(random.choice(KEY_CHARS) for _ in range(8))


class FakeZotero:
    def __init__(self, api_key: str = "secret-key", library: str = "users/12345", bearer: bool = False):
        self.api_key = api_key
        self.library = library
        # What GET /keys/current says the key may do: read and write this library.
        kind, library_id = library.split("/")
        self.user_id = int(library_id) if kind == "users" else 777
        self.key_access: dict = (
            {"user": {"library": True, "files": True, "notes": True, "write": True}} if kind == "users"
            else {"groups": {library_id: {"library": True, "write": True}}}
        )
        self.version = 0
        self.items: dict[str, dict] = {}  # key -> {"key", "version", "data"}
        self.collections: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.violations: list[str] = []
        self.used_tokens: set[str] = set()
        self._faults: list[tuple[int, dict, str | None]] = []
        self._backoff: str | None = None
        self._edits_after_fetch: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle

    def start(self) -> "FakeZotero":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    status, headers, payload = fake.handle(self.command, self.path, dict(self.headers), body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}"

    # -- scripting

    def fail_next(self, status: int, headers: dict | None = None, times: int = 1, method: str | None = None) -> None:
        """Answer the next ``times`` requests (``method`` ones only, if given) with ``status``, before looking at them."""
        self._faults += [(status, headers or {}, method)] * times

    def backoff_next(self, seconds: int) -> None:
        """Add ``Backoff: seconds`` to the next response."""
        self._backoff = str(seconds)

    def edit(self, key: str, **fields) -> None:
        """Change an item as a user does in Zotero: new values, a new version."""
        with self._lock:
            self._edit(key, fields)

    def edit_after_next_fetch(self, key: str, **fields) -> None:
        """The user edits ``key`` right after the client's next ``GET /items``: its write then meets a 412."""
        self._edits_after_fetch.append((key, fields))

    def _edit(self, key: str, fields: dict) -> None:
        self.version += 1
        item = self.items[key]
        _set_type(item, fields.get("itemType"))
        item["data"].update(fields)
        item["version"] = item["data"]["version"] = self.version

    def delete(self, key: str) -> None:
        with self._lock:
            self.version += 1
            del self.items[key]

    def top_items(self) -> list[dict]:
        return [item for item in self.items.values() if item["data"]["itemType"] != "note"]

    def notes(self) -> list[dict]:
        return [item for item in self.items.values() if item["data"]["itemType"] == "note"]

    def writes(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    # -- the API

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes):
        parts = urlsplit(raw_path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        headers = {name.lower(): value for name, value in headers.items()}
        record = {"method": method, "path": parts.path, "query": query, "headers": headers,
                  "body": json.loads(body) if body else None}
        self.requests.append(record)
        extra = {}
        if self._backoff:
            extra["Backoff"] = self._backoff
            self._backoff = None
        fault = next((f for f in self._faults if f[2] in (None, method)), None)
        if fault:
            self._faults.remove(fault)
            status, fault_headers, _ = fault
            return status, {**fault_headers, **extra}, {"message": "scripted fault"}
        key = headers.get("zotero-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            return 403, extra, {"message": "Invalid key"}
        if headers.get("zotero-api-version") != "3":
            self.violations.append(f"{method} {parts.path}: Zotero-API-Version is {headers.get('zotero-api-version')!r}")
            return 400, extra, {"message": "API version"}
        if method == "GET" and parts.path == "/keys/current":
            return 200, extra, {"key": key, "userID": self.user_id, "username": "tester", "displayName": "",
                                "access": self.key_access}
        prefix = "/" + self.library
        if not parts.path.startswith(prefix + "/"):
            return 403, extra, {"message": "Forbidden"}
        path = parts.path[len(prefix):]
        extra["Last-Modified-Version"] = str(self.version)
        if method == "GET" and path == "/items":
            answer = self._get_items(path, query, extra)
            while self._edits_after_fetch:
                self._edit(*self._edits_after_fetch.pop(0))
            return answer
        if method == "GET" and path == "/collections":
            return self._get_collections(path, query, extra)
        if method == "POST" and path in ("/items", "/collections"):
            return self._post(path, headers, record["body"], extra)
        self.violations.append(f"unexpected request {method} {parts.path}")
        return 404, extra, {"message": "Not found"}

    def _get_items(self, path, query, extra):
        keys = [key for key in query.get("itemKey", "").split(",") if key]
        if len(keys) > 50:
            self.violations.append(f"GET items with {len(keys)} itemKeys (max 50)")
        found = [self._full(self.items[key]) for key in keys if key in self.items]
        if query.get("includeTrashed") != "1":
            found = [item for item in found if not item["data"].get("deleted")]
        return self._page(path, query, extra, found)

    def _full(self, item: dict) -> dict:
        """The item as the API returns it: every field of its type, empty ones as ''."""
        data = dict(item["data"])
        for name in ITEM_FIELDS.get(data["itemType"], ()):
            data.setdefault(name, "")
        return {"key": item["key"], "version": item["version"], "library": {"type": "user"}, "data": data}

    def _get_collections(self, path, query, extra):
        return self._page(path, query, extra, sorted(self.collections.values(), key=lambda c: c["key"]))

    def _page(self, path, query, extra, objects):
        """One page of a multi-object read, as the API pages: ``limit`` 25 unless asked, at most 100;
        ``Total-Results``, and a ``Link`` to the next page while there is one."""
        start, limit = int(query.get("start", 0)), min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        headers = {**extra, "Total-Results": str(len(objects))}
        if start + limit < len(objects):
            following = urlencode({**query, "start": start + limit, "limit": limit})
            headers["Link"] = f'<{self.url}/{self.library}{path}?{following}>; rel="next"'
        return 200, headers, objects[start : start + limit]

    def _post(self, path, headers, body, extra):
        if not headers.get("content-type", "").startswith("application/json"):
            self.violations.append(f"POST {path} without Content-Type: application/json")
        if not isinstance(body, list):
            return 400, extra, {"message": "body must be a JSON array"}
        if len(body) > 50:
            self.violations.append(f"POST {path} with {len(body)} objects (max 50)")
            return 413, extra, {"message": "Too many items"}
        creates = any("key" not in obj for obj in body)
        token = headers.get("zotero-write-token")
        since = headers.get("if-unmodified-since-version")
        if creates and not token:
            self.violations.append(f"POST {path} creating objects without Zotero-Write-Token")
        if not creates and since is None:
            self.violations.append(f"POST {path} updating objects without If-Unmodified-Since-Version")
        if token:
            if not re.fullmatch(r"[0-9a-zA-Z]{32}", token):
                self.violations.append(f"malformed Zotero-Write-Token {token!r}")
            if token in self.used_tokens:
                return 412, extra, {"message": "Write token already used"}
        if since is not None and int(since) != self.version:
            return 412, extra, {"message": f"Library has been modified since specified version (expected {since}, found {self.version})"}
        if token:
            self.used_tokens.add(token)
        result = {"successful": {}, "success": {}, "unchanged": {}, "failed": {}}
        new_version = self.version + 1
        wrote = False
        for index, obj in enumerate(body):
            problem = self._check_collection(obj) if path == "/collections" else self._check_item(obj)
            if problem:
                code, message = problem
                result["failed"][str(index)] = {"key": obj.get("key"), "code": code, "message": message}
                continue
            if path == "/collections":
                key = new_key()
                self.collections[key] = {"key": key, "version": new_version, "data": {"key": key, "version": new_version, **obj, "parentCollection": False}}
                stored = self.collections[key]
            elif "key" in obj:
                stored = self.items[obj["key"]]
                changes = {name: value for name, value in obj.items() if name not in ("key", "version")}
                if all(stored["data"].get(name) == value for name, value in changes.items()):
                    result["unchanged"][str(index)] = obj["key"]
                    continue
                _set_type(stored, changes.get("itemType"))
                stored["data"].update(changes)
                stored["version"] = stored["data"]["version"] = new_version
            else:
                key = new_key()
                stored = {"key": key, "version": new_version, "data": {**obj, "key": key, "version": new_version}}
                self.items[key] = stored
            wrote = True
            result["successful"][str(index)] = self._full(stored) if path == "/items" else stored
            result["success"][str(index)] = stored["key"]
        if wrote:
            self.version = new_version
        extra["Last-Modified-Version"] = str(self.version)
        return 200, extra, result

    def _check_collection(self, obj):
        if not isinstance(obj.get("name"), str) or not obj["name"]:
            return 400, "collection name missing"
        return None

    def _check_item(self, obj):
        if "key" in obj:
            current = self.items.get(obj["key"])
            if current is None:
                return 404, f"Item {obj['key']} not found"
            if "version" not in obj:
                self.violations.append(f"update of {obj['key']} without a version")
                return 428, "version missing"
            if obj["version"] != current["version"]:
                return 412, f"Item has been modified since specified version (expected {obj['version']}, found {current['version']})"
            item_type = obj.get("itemType", current["data"]["itemType"])
        else:
            item_type = obj.get("itemType")
        if item_type == "note":
            allowed = {"note", "parentItem"}
            parent = obj.get("parentItem")
            if "key" not in obj and (not parent or parent not in self.items):
                return 400, f"Parent item {parent} not found"
            if "collections" in obj:
                return 400, "Child items cannot be assigned to collections"
        elif item_type in ITEM_FIELDS:
            allowed = ITEM_FIELDS[item_type]
        else:
            return 400, f"'{item_type}' is not a valid itemType"
        for name, value in obj.items():
            if name in OBJECT_PROPERTIES or name in allowed:
                if value is None:
                    return 400, f"'{name}' must not be null"
                continue
            return 400, f"'{name}' is not a valid field for type '{item_type}'"
        for creator in obj.get("creators", []):
            valid = CREATOR_TYPES.get(item_type, DEFAULT_CREATOR_TYPES)
            if creator.get("creatorType") not in valid:
                return 400, f"'{creator.get('creatorType')}' is not a valid creator type for item type '{item_type}'"
            if not (creator.get("name") or creator.get("lastName")):
                return 400, "creator name missing"
        for tag in obj.get("tags", []):
            if not isinstance(tag, dict) or not isinstance(tag.get("tag"), str) or not tag["tag"]:
                return 400, f"invalid tag {tag!r}"
        for collection in obj.get("collections", []):
            if collection not in self.collections:
                return 409, f"Collection {collection} not found"
        return None
