"""Server-side queries of the run catalog: every query a client can send is run in SQL or refused.

Tiled's SQL catalog has no ``Regex`` and knows nothing of the queries of
bluesky-tiled-plugins' older clients (``time_range``, ``scan_id``,
``scan_id_range``, ``partial_uid``). This module registers them with the
catalog adapter (Tiled's query registry) so SQLite and PostgreSQL run them
in the database, and builds the server's registry of query names
(:func:`server_query_registry`) with validating decoders: a malformed
query is a 400 naming it (``QueryValueError``), an unsupported one too
(``UnsupportedQueryType``).

Keys: on the catalog of runs, a key that does not start with one of the
run's metadata sections (:data:`RUN_SECTIONS`) means a key of the start
document, as on the facility's server (``plan_name`` is ``start.plan_name``).
"""

import operator
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, func, literal_column, or_, text, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from tiled.catalog import orm
from tiled.catalog.adapter import CatalogNodeAdapter
from tiled.queries import Comparison, Eq, In, Like, Operator, QueryValueError, Regex
from tiled.query_registration import QueryRegistry, default_query_registry
from tiled.utils import UnsupportedQueryType

from .files import FILES_KEY
from .indexes import INDEXED_KEYS, json_path, title_condition
from .pg import pg_expression

RUN_SECTIONS = ("start", "stop", "summary", FILES_KEY)
START = "start"
TIME_KEY = "start.time"
SCAN_ID_KEY = "start.scan_id"
UID_KEY = "start.uid"
TITLE_KEY = "start.title"
MIN_PARTIAL_UID = 5
MAX_PATTERN = 1000
_UID_CHARS = re.compile(r"^[0-9a-fA-F-]+$")


def run_key(key: str) -> str:
    """Return the metadata path of ``key`` on a run: ``plan_name`` -> ``start.plan_name``."""
    head = key.split(".", 1)[0]
    return key if head in RUN_SECTIONS else f"{START}.{key}"


def _dialect(tree: Any) -> str:
    return tree.context.engine.url.get_dialect().name


def metadata_value(key: str, dialect: str, as_type: str = "as_string") -> Any:
    """The SQL expression of metadata ``key``: for an indexed key, with a literal path.

    ``json_extract(nodes.metadata, '$.start.user_name')`` on SQLite and
    ``nodes.metadata #>> '{start,user_name}'`` (text) on PostgreSQL are the
    expressions of the indexes (:mod:`.indexes`, :mod:`.pg`), so the database
    uses them; Tiled's own expression binds the path. ``as_type`` is Tiled's
    typed accessor for the other cases (``as_integer`` ...).
    """
    if key in INDEXED_KEYS:
        if dialect == "sqlite":
            return func.json_extract(orm.Node.metadata_, literal_column(f"'{json_path(key)}'"))
        if dialect == "postgresql" and as_type == "as_string":
            return literal_column(pg_expression(key, text=True), type_=Text)
    return getattr(orm.Node.metadata_[key.split(".")], as_type)()


def pg_jsonb(key: str) -> Any:
    """The JSONB value of indexed ``key`` on PostgreSQL (``nodes.metadata #> '{start,time}'``)."""
    return literal_column(pg_expression(key), type_=JSONB)


_OPERATORS = {
    Operator.lt: operator.lt,
    Operator.le: operator.le,
    Operator.gt: operator.gt,
    Operator.ge: operator.ge,
}


def _indexed(query_type: type, **conditions: Any) -> Any:
    """A translator using ``conditions[dialect](query)`` for indexed keys, else Tiled's own."""
    tiled_translator = CatalogNodeAdapter.query_registry.dispatch(query_type)

    def translate(query: Any, tree: Any) -> Any:
        condition = conditions.get(_dialect(tree))
        if condition is None or query.key not in INDEXED_KEYS or not _scalar(query):
            return tiled_translator(query, tree)
        return tree.new_variation(conditions=tree.conditions + [condition(query)])

    return translate


def _scalar(query: Any) -> bool:
    """True unless the query compares with a list or mapping (Tiled's containment then)."""
    return not isinstance(getattr(query, "value", None), dict | list) or isinstance(query, In)


def _eq(query: Eq) -> Any:
    return metadata_value(query.key, "sqlite") == query.value


def _comparison(query: Comparison) -> Any:
    return _OPERATORS[Operator(query.operator)](metadata_value(query.key, "sqlite"), query.value)


def _pg_eq(query: Eq) -> Any:
    """JSONB equality on the indexed expression (a b-tree walk of the matches only)."""
    return pg_jsonb(query.key) == type_coerce(query.value, JSONB)


def _pg_comparison(query: Comparison) -> Any:
    """JSONB against JSONB, as Tiled compares (numbers as numbers), on the indexed expression."""
    operation = _OPERATORS[Operator(query.operator)]
    return operation(pg_jsonb(query.key), type_coerce(query.value, JSONB))


def _like(query: Like) -> Any:
    return metadata_value(query.key, "sqlite").like(query.pattern)


def _pg_like(query: Like) -> Any:
    return metadata_value(query.key, "postgresql").like(query.pattern)


def _in(query: In) -> Any:
    return metadata_value(query.key, "sqlite").in_(list(query.value))


def regex_condition(query: Regex, dialect: str) -> Any:
    """The SQL condition of ``query`` for ``dialect`` (``sqlite`` or ``postgresql``).

    SQLite runs SQLAlchemy's ``REGEXP`` function (Python ``re.search``; case-insensitive
    as an inline ``(?i)``); PostgreSQL runs ``~`` or ``~*``.
    """
    check_pattern(query.pattern, "regex")
    value = metadata_value(query.key, dialect)
    if dialect == "postgresql":
        return value.regexp_match(query.pattern, flags=None if query.case_sensitive else "i")
    pattern = query.pattern if query.case_sensitive else f"(?i){query.pattern}"
    return value.regexp_match(pattern)


def _regex(query: Regex, tree: Any) -> Any:
    dialect = _dialect(tree)
    conditions = [regex_condition(query, dialect)]
    # only a sample alone: with other conditions their indexes narrow first (as in .direct)
    if dialect == "sqlite" and query.key == TITLE_KEY and not tree.conditions:
        prefilter = title_condition(query.pattern)  # the trigram index of the titles
        if prefilter:
            conditions.insert(0, text(prefilter))
    return tree.new_variation(conditions=tree.conditions + conditions)


def check_pattern(pattern: str, name: str) -> None:
    """Raise ``QueryValueError`` naming query ``name`` when ``pattern`` is not a usable regex."""
    if len(pattern) > MAX_PATTERN:
        raise QueryValueError(f"{name}: pattern longer than {MAX_PATTERN} characters")
    try:
        re.compile(pattern)
    except re.error as err:
        raise QueryValueError(f"{name}: invalid regular expression {pattern!r}: {err}") from None


def _float(text: Any, name: str, field: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise QueryValueError(f"{name}: {field}={text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise QueryValueError(f"{name}: {field}={text!r} is not a finite number")
    return value


def _int(text: Any, name: str, field: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise QueryValueError(f"{name}: {field}={text!r} is not an integer") from None


def _duplicates(value: str, name: str) -> None:
    """Only ``all`` is run; ``latest``/``error`` need a second pass that SQL filters cannot do."""
    if value != "all":
        raise UnsupportedQueryType(
            f"{name} with duplicates={value!r} (this server returns every match: send "
            "duplicates=all, or search start.scan_id with Eq/Comparison)"
        )


@dataclass
class TimeRangeQuery:
    """``filter[time_range]``: runs with ``since <= start.time < until`` (epoch seconds)."""

    timezone: str | None = None
    since: str | None = None
    until: str | None = None

    @classmethod
    def decode(cls, *, timezone: str | None = None, since: Any = None, until: Any = None):
        """Checked query: finite numbers, ``since <= until``, at least one bound."""
        lo = None if since in (None, "") else _float(since, "time_range", "since")
        hi = None if until in (None, "") else _float(until, "time_range", "until")
        if lo is None and hi is None:
            raise QueryValueError("time_range: give since and/or until (epoch seconds)")
        if lo is not None and hi is not None and lo > hi:
            raise QueryValueError(f"time_range: since ({lo}) is after until ({hi})")
        return cls(
            timezone=timezone,
            since=None if lo is None else repr(lo),
            until=None if hi is None else repr(hi),
        )


@dataclass
class ScanIDQuery:
    """``filter[scan_id]``: runs whose ``start.scan_id`` is in ``scan_ids`` (comma-separated)."""

    scan_ids: str
    duplicates: str = "latest"

    @classmethod
    def decode(cls, *, scan_ids: str, duplicates: str = "latest"):
        """Checked query: integers, ``duplicates=all``."""
        for part in str(scan_ids).split(","):
            _int(part, "scan_id", "scan_ids")
        _duplicates(duplicates, "scan_id")
        return cls(scan_ids=str(scan_ids), duplicates=duplicates)


@dataclass
class ScanIDRangeQuery:
    """``filter[scan_id_range]``: ``start_id <= start.scan_id < end_id``."""

    start_id: str
    end_id: str
    duplicates: str = "latest"

    @classmethod
    def decode(cls, *, start_id: Any, end_id: Any, duplicates: str = "latest"):
        """Checked query: integers, ``duplicates=all``."""
        _int(start_id, "scan_id_range", "start_id")
        _int(end_id, "scan_id_range", "end_id")
        _duplicates(duplicates, "scan_id_range")
        return cls(start_id=str(start_id), end_id=str(end_id), duplicates=duplicates)


@dataclass
class PartialUIDQuery:
    """``filter[partial_uid]``: runs whose uid starts with one of ``partial_uids``."""

    partial_uids: str

    @classmethod
    def decode(cls, *, partial_uids: str):
        """Checked query: hex digits and dashes, at least 5 of them each."""
        for part in str(partial_uids).split(","):
            if len(part) < MIN_PARTIAL_UID or not _UID_CHARS.match(part):
                raise QueryValueError(
                    f"partial_uid: {part!r} is not the start of a uid "
                    f"(at least {MIN_PARTIAL_UID} hex digits or dashes)"
                )
        return cls(partial_uids=str(partial_uids))


def _time_range(query: TimeRangeQuery, tree: Any) -> Any:
    if query.since is not None:
        tree = tree.search(Comparison("ge", TIME_KEY, float(query.since)))
    if query.until is not None:
        tree = tree.search(Comparison("lt", TIME_KEY, float(query.until)))
    return tree


def _scan_id(query: ScanIDQuery, tree: Any) -> Any:
    ids = [int(part) for part in query.scan_ids.split(",")]
    value = metadata_value(SCAN_ID_KEY, _dialect(tree), "as_integer")
    return tree.new_variation(conditions=tree.conditions + [value.in_(ids)])


def _scan_id_range(query: ScanIDRangeQuery, tree: Any) -> Any:
    value = metadata_value(SCAN_ID_KEY, _dialect(tree), "as_integer")
    condition = and_(value >= int(query.start_id), value < int(query.end_id))
    return tree.new_variation(conditions=tree.conditions + [condition])


def _partial_uid(query: PartialUIDQuery, tree: Any) -> Any:
    value = metadata_value(UID_KEY, _dialect(tree))
    # the decoder allows only hex digits and dashes, so no LIKE wildcard can slip in
    options = [value.like(f"{part.lower()}%") for part in query.partial_uids.split(",")]
    return tree.new_variation(conditions=tree.conditions + [or_(*options)])


# Names and fields as bluesky-tiled-plugins' clients encode them.
SERVER_QUERIES = {
    "time_range": TimeRangeQuery,
    "scan_id": ScanIDQuery,
    "scan_id_range": ScanIDRangeQuery,
    "partial_uid": PartialUIDQuery,
}

# On PostgreSQL In keeps Tiled's "metadata @> {...}", served by the catalog's GIN index.
CatalogNodeAdapter.register_query(Eq, _indexed(Eq, sqlite=_eq, postgresql=_pg_eq))
CatalogNodeAdapter.register_query(
    Comparison, _indexed(Comparison, sqlite=_comparison, postgresql=_pg_comparison)
)
CatalogNodeAdapter.register_query(Like, _indexed(Like, sqlite=_like, postgresql=_pg_like))
CatalogNodeAdapter.register_query(In, _indexed(In, sqlite=_in))
CatalogNodeAdapter.register_query(Regex, _regex)
CatalogNodeAdapter.register_query(TimeRangeQuery, _time_range)
CatalogNodeAdapter.register_query(ScanIDQuery, _scan_id)
CatalogNodeAdapter.register_query(ScanIDRangeQuery, _scan_id_range)
CatalogNodeAdapter.register_query(PartialUIDQuery, _partial_uid)


def server_query_registry() -> QueryRegistry:
    """Return the query names the server accepts: Tiled's and :data:`SERVER_QUERIES`."""
    registry = QueryRegistry()
    for name, query_type in default_query_registry.name_to_query_type.items():
        if name not in SERVER_QUERIES:
            registry.register(name=name)(query_type)
    for name, query_type in SERVER_QUERIES.items():
        registry.register(name=name)(query_type)
    return registry
