"""Hot read queries compiled once: the SQL of a query set's shape, and rows made into instances without the ORM's
per-row machinery.

Django compiles a query set into SQL on every evaluation (the select list, joins, the WHERE tree, quoting), and
builds each row's instance through ``Model.__init__`` and ``from_db``; on a page of posts with their authors and
first comments that is a third of the request's CPU. For the shapes the read path repeats on every request (a
page of posts, the first comments of many posts) :func:`fetch` compiles the query set once per *key* and keeps:

- the SQL text and where each parameter comes from: the query set is built once with :class:`Param`
  placeholders, which must reach the SQL unchanged — inside ``RawSQL`` (or :func:`condition`) params, never
  in ``filter(field=value)`` (a field would convert the value);
- how a row becomes instances: the main model's and each ``select_related`` model's column ranges, made with
  ``Model.__new__`` and the column values set as ``from_db`` would set them (not fetched columns stay
  deferred: reading one loads it, as with ``.defer()``), the related objects cached both ways as
  ``select_related`` does.

The key must determine everything about the query set except the placeholders' values (the caller's shape
name, page size, order...). Anything the fast path does not cover — annotations, prefetches, known related
objects, inheritance joins, ``pre_init``/``post_init`` receivers, an empty ``IN ()`` — runs through the ORM
unchanged (``list(build(*args))``), so a key is never wrong, only slower. The SQL runs through Django's cursor:
execute wrappers (SQL counts, deadlines), the connection's health checks and prepared statements all apply.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, QuerySet, signals
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable

# Shapes kept (a shape per key: a handful per call site); beyond it, new keys run through the ORM.
MAX_SHAPES = 512


class Param:
    """The ``index``-th argument of :func:`fetch`, as a placeholder where the query set takes a value."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __repr__(self) -> str:
        return f"Param({self.index})"


def condition(sql: str, params: Sequence = ()) -> RawSQL:
    """An SQL condition for ``filter()`` whose params (placeholders included) reach the SQL unchanged."""
    return RawSQL(sql, tuple(params), output_field=BooleanField())


class _Fallback:
    """A shape the fast path does not cover: the ORM evaluates it."""


_FALLBACK = _Fallback()


class _Shape:
    __slots__ = ("alias", "sql", "bindings", "converters", "make")

    def __init__(self, alias, sql, bindings, converters, make):
        self.alias = alias
        self.sql = sql
        self.bindings = bindings  # per SQL parameter: (True, argument index) or (False, constant)
        self.converters = converters
        self.make = make


_shapes: dict[Hashable, _Shape | _Fallback] = {}
_lock = threading.Lock()


def fetch(key: Hashable, build: Callable[..., QuerySet], *args: Any) -> list:
    """``list(build(*args))``, with the SQL and the row decoding of ``key``'s shape reused.

    ``build`` is called with :class:`Param` placeholders once per key (and with ``args`` whenever the shape
    falls back to the ORM).
    """
    shape = _shapes.get(key)
    if shape is None:
        shape = _prepare(build, len(args))
        with _lock:
            if len(_shapes) < MAX_SHAPES:
                _shapes[key] = shape
    if shape is _FALLBACK:
        return list(build(*args))
    params = [args[value] if is_arg else value for is_arg, value in shape.bindings]
    connection = connections[shape.alias]
    rows = rows_of(shape.sql, params, connection)
    if shape.converters:
        rows = _convert(rows, shape.converters, connection)
    make = shape.make
    return [make(row) for row in rows]


def rows_of(sql: str, params, connection) -> list[tuple]:
    """The rows of ``sql``, run through Django's cursor. With common.postgres the psycopg cursor is kept for
    ``sql`` (``DatabaseWrapper.statement_cursor``): pass the same ``str`` object each time (a shape's text, a
    module constant, a cached text) and psycopg's loaders and dumpers are reused too."""
    statement_cursor = getattr(connection, "statement_cursor", None)
    if statement_cursor is not None:
        cursor = statement_cursor(sql)
        cursor.execute(sql, params)
        return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _convert(rows, converters, connection) -> list:
    converted = []
    for row in rows:
        row = list(row)
        for position, (functions, expression) in converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        converted.append(row)
    return converted


def _prepare(build: Callable[..., QuerySet], arity: int) -> _Shape | _Fallback:
    queryset = build(*(Param(index) for index in range(arity)))
    if (queryset._iterable_class is not ModelIterable or queryset._prefetch_related_lookups
            or queryset._known_related_objects or queryset._result_cache is not None):
        return _FALLBACK
    alias = queryset.db
    compiler = queryset.query.get_compiler(using=alias)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return _FALLBACK
    if compiler.annotation_col_map or compiler.klass_info is None:
        return _FALLBACK
    bindings = []
    for value in params:
        if isinstance(value, Param):
            bindings.append((True, value.index))
        elif isinstance(value, (list, tuple)) and any(isinstance(item, Param) for item in value):
            return _FALLBACK
        else:
            bindings.append((False, value))
    fields = [column[0] for column in compiler.select[: compiler.col_count]]
    converters = compiler.get_converters(fields)
    if compiler.has_composite_fields(fields):
        return _FALLBACK
    try:
        make = _row_maker(compiler.klass_info, compiler.select, alias)
    except _NotCovered:
        return _FALLBACK
    return _Shape(alias, sql, tuple(bindings), list(converters.items()), make)


class _NotCovered(Exception):
    pass


def _instance_maker(model, attnames: list[str], alias: str) -> Callable[[Sequence], Any]:
    """values -> an instance of ``model`` as ``Model.from_db(alias, attnames, values)`` makes it."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        raise _NotCovered
    if model.__init__ is not _model_init or getattr(model.from_db, "__func__", None) is not _from_db:
        raise _NotCovered  # a model that makes its instances its own way
    new = model.__new__
    names = tuple(attnames)

    def make(values):
        obj = new(model)
        state = ModelState()
        state.adding = False
        state.db = alias
        attributes = obj.__dict__
        attributes["_state"] = state
        attributes.update(zip(names, values))
        return obj

    return make


def instance_maker(model, attnames: Sequence[str], alias: str = "default") -> Callable[[Sequence], Any]:
    """values -> ``model.from_db(alias, attnames, values)``, the fast way when the model allows it (for code that
    reads its own rows: the home feed's)."""
    try:
        return _instance_maker(model, list(attnames), alias)
    except _NotCovered:
        names = list(attnames)
        return lambda values: model.from_db(alias, names, values)


def _row_maker(klass_info: dict, select, alias: str) -> Callable[[Sequence], Any]:
    columns = klass_info["select_fields"]
    start, end = columns[0], columns[-1] + 1
    attnames = [column[0].target.attname for column in select[start:end]]
    make_instance = _instance_maker(klass_info["model"], attnames, alias)
    related = [_related_maker(info, select, alias) for info in klass_info.get("related_klass_infos", [])]
    if not related:
        return lambda row: make_instance(row[start:end])

    def make(row):
        obj = make_instance(row[start:end])
        for populate in related:
            populate(row, obj)
        return obj

    return make


def _related_maker(klass_info: dict, select, alias: str) -> Callable[[Sequence, Any], None]:
    """(row, parent instance) -> the select_related instance cached on the parent (and the parent on it)."""
    if klass_info["from_parent"]:
        raise _NotCovered  # multi-table inheritance
    model = klass_info["model"]
    columns = klass_info["select_fields"]
    start, end = columns[0], columns[-1] + 1
    attnames = [column[0].target.attname for column in select[start:end]]
    pk_index = attnames.index(model._meta.pk.attname)
    make_instance = _instance_maker(model, attnames, alias)
    nested = [_related_maker(info, select, alias) for info in klass_info.get("related_klass_infos", [])]
    local_setter, remote_setter = klass_info["local_setter"], klass_info["remote_setter"]

    def populate(row, parent):
        values = row[start:end]
        if values[pk_index] is None:
            local_setter(parent, None)
            return
        obj = make_instance(values)
        for populate_nested in nested:
            populate_nested(row, obj)
        local_setter(parent, obj)
        remote_setter(obj, parent)

    return populate


def _model_init():  # replaced below by Model.__init__ (a model overriding it is not covered)
    pass


def _from_db():
    pass


def _bind_model_defaults() -> None:
    global _model_init, _from_db
    from django.db.models import Model

    _model_init = Model.__init__
    _from_db = Model.from_db.__func__


_bind_model_defaults()


def clear() -> None:
    """Forget every compiled shape (tests that change models or settings)."""
    with _lock:
        _shapes.clear()


__all__ = ["MAX_SHAPES", "Param", "clear", "condition", "fetch", "instance_maker"]
