"""Rules every HTTP request to the catalog server passes before Tiled sees it (an ASGI middleware).

- Request headers larger than :data:`MAX_HEADER_BYTES` are refused (431).
- An API key in the query string (``?api_key=``) is refused (400): keys
  travel in the ``Authorization: Apikey ...`` header only, so they stay out
  of access logs and browser histories.
- Every ``filter[NAME][condition][FIELD]`` parameter names a query the
  server runs and one of its fields, with as many values for each field of
  one query; anything else is a 400 naming it (Tiled would drop it and
  answer every run).
- On the catalog of runs (``/api/v1/search/<mount>``), query keys and sort
  keys that are not metadata paths of a run mean start-document keys, as on
  the facility's server: ``plan_name`` is ``start.plan_name``, ``sort=-time``
  is newest first by ``start.time``.
- Matilda's ``filter[contains][condition][exit_status]`` (a field name with
  no value) means "the run's stop document has ``exit_status``", i.e. the
  run has finished (any other bare field: the start document has it).
- With ``select_metadata``, each entry's selected metadata is given both
  under ``selected`` (Tiled) and at the top of ``metadata`` (the facility's
  server, which Matilda reads).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, urlencode

from event_model import DocumentNames, schemas

from .queries import run_key

MAX_HEADER_BYTES = 16 * 1024
API_KEY_PARAM = "api_key"
SEARCH_ROUTES = ("search", "distinct")
_FILTER = re.compile(r"^filter\[([^\]]*)\]\[condition\]\[([^\]]*)\]$")
_STANDARD_SORT_KEYS = ("", "id")
STOP_KEYS = frozenset(schemas[DocumentNames.stop]["properties"])
KEY_PRESENT = "keypresent"


class QueryRefused(ValueError):
    """A request the server will not run; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def query_fields(registry: Any) -> dict[str, tuple[str, ...]]:
    """Return ``{query name: field names a client may send}`` of a Tiled query registry."""
    return {
        name: tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal"))
        for name, cls in registry.name_to_query_type.items()
    }


def _sort_key(item: str) -> str:
    """``-time`` -> ``-metadata.start.time``; ``id`` and metadata paths of a run as they are."""
    sign, key = ("-", item[1:]) if item.startswith("-") else ("", item)
    if key in _STANDARD_SORT_KEYS:
        return item
    key = key.removeprefix("metadata.")
    return f"{sign}metadata.{run_key(key)}"


def translate_params(
    params: list[tuple[str, str]], fields: dict[str, tuple[str, ...]], *, runs: bool
) -> list[tuple[str, str]]:
    """Return the checked (and, on the catalog of runs, translated) query parameters.

    Raises :class:`QueryRefused` naming the first parameter the server cannot honour.
    """
    out: list[tuple[str, str]] = []
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name, value in params:
        if name == API_KEY_PARAM:
            raise QueryRefused(
                "API keys are accepted only in the header 'Authorization: Apikey <key>', "
                "never in the URL"
            )
        if name == "sort" and runs:
            value = ",".join(_sort_key(item.strip()) for item in value.split(","))
        match = _FILTER.match(name)
        if match is None:
            out.append((name, value))
            continue
        query, field = match.groups()
        if query not in fields:
            raise QueryRefused(
                f"unknown query {query!r} (filter[{query}]); this server runs: "
                + ", ".join(sorted(fields))
            )
        if field not in fields[query]:
            if query == "contains" and value == "" and KEY_PRESENT in fields:
                section = "stop" if field in STOP_KEYS else "start"
                for sub, sub_value in (("key", f"{section}.{field}"), ("exists", "true")):
                    out.append((f"filter[{KEY_PRESENT}][condition][{sub}]", sub_value))
                    counts[KEY_PRESENT][sub] += 1
                continue
            raise QueryRefused(
                f"query {query!r} has no field {field!r} (its fields: "
                + ", ".join(fields[query])
                + ")"
            )
        if field == "key" and runs:
            value = run_key(value)
        out.append((name, value))
        counts[query][field] += 1
    for query, per_field in counts.items():
        if len(set(per_field.values())) > 1:
            given = ", ".join(f"{n} {f}" for f, n in per_field.items())
            raise QueryRefused(f"query {query!r}: each field must be given as often ({given})")
    return out


def merge_selected(body: dict[str, Any]) -> dict[str, Any]:
    """Return a search response whose entries carry their ``selected`` metadata at the top too."""
    for entry in body.get("data") or []:
        metadata = (entry.get("attributes") or {}).get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("selected"), dict):
            selected = metadata["selected"]
            entry["attributes"]["metadata"] = {**selected, "selected": selected}
    return body


class CatalogHTTPRules:
    """ASGI middleware applying the rules of this module; ``runs`` is the catalog of runs' path."""

    def __init__(self, app: Any, *, fields: dict[str, tuple[str, ...]], runs: str) -> None:
        self.app = app
        self.fields = fields
        self.runs_paths = {f"/api/v1/{route}/{runs}".rstrip("/") for route in SEARCH_ROUTES}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            scope = self._checked(scope)
        except QueryRefused as err:
            await _answer(send, err.status, str(err))
            return
        if _has_param(scope, "select_metadata"):
            await self._merging_selected(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _checked(self, scope: dict) -> dict:
        size = sum(len(k) + len(v) for k, v in scope["headers"])
        if size > MAX_HEADER_BYTES:
            raise QueryRefused(f"request headers over {MAX_HEADER_BYTES} bytes", status=431)
        query = scope.get("query_string", b"").decode("latin-1")
        if not query:
            return scope
        params = parse_qsl(query, keep_blank_values=True)
        runs = scope["path"].rstrip("/") in self.runs_paths
        translated = translate_params(params, self.fields, runs=runs)
        return {**scope, "query_string": urlencode(translated).encode("latin-1")}

    async def _merging_selected(self, scope: dict, receive: Any, send: Any) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        scope = {**scope, "headers": headers}
        start: dict = {}
        chunks: list[bytes] = []

        async def buffered(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            response_headers = list(start.get("headers", []))
            content_type = dict(response_headers).get(b"content-type", b"")
            if start.get("status") == 200 and content_type.startswith(b"application/json"):
                body = json.dumps(merge_selected(json.loads(body))).encode()
                response_headers = [
                    (k, v) for k, v in response_headers if k.lower() != b"content-length"
                ] + [(b"content-length", str(len(body)).encode())]
            await send({**start, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


def _has_param(scope: dict, name: str) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    return any(key == name for key, _ in parse_qsl(query, keep_blank_values=True))


async def _answer(send: Any, status: int, message: str) -> None:
    """Send a JSON error response ``{"detail": message}`` (Tiled's error shape)."""
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
