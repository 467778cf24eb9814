"""Keyset (seek) pagination and Relay connection types.

graphene-django's DjangoConnectionField pages with OFFSET and counts every
page; this one seeks. A cursor is the opaque encoding of the sort key and the
id of the last row seen; the next page is ``WHERE (sort_key, id) < (cursor)``
on an index of the same order, so page 10,000 costs what page 1 costs and new
rows never shift a page (no gaps, no repeats).

Use:

    PostConnection = connection_type(Post)                # XConnection / XEdge types
    posts = connection_field(PostConnection, "All posts.")  # a Field with first/after

    def resolve_posts(root, info, first=None, after=None):
        return paginate(Post.objects.all(), NEWEST, first=first, after=after)

``paginate`` returns a :class:`Page`; nested connections that were prefetched
(a sliced ``Prefetch`` with ``first + 1`` rows per parent) become a page with
``Page.from_rows``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence

import graphene
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

from .errors import BadUserInput
from .loaders import then

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_size(first: int | None) -> int:
    """Validates ``first``: 20 when left out, 0-100 allowed; BAD_USER_INPUT otherwise."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}.", argument="first")
    return first


# --- cursors ------------------------------------------------------------------
def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.datetime.fromisoformat(value["t"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The values of a cursor; BAD_USER_INPUT for anything this server did not issue."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != length:
            raise ValueError
        decoded = [_decode_value(v) for v in values]
        if any(isinstance(v, (list, dict)) or v is None for v in decoded):
            raise ValueError
        return decoded
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput("The cursor is not valid.", argument="after") from None


_BIGINT = 2**63


def _model_field(model, path: str):
    field = None
    for part in path.split("__"):
        if model is None:
            return None
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None  # an annotation: not checked here
        model = field.related_model
    return field


def _fits(model, path: str, value: Any) -> bool:
    """Whether a cursor value has the type of the model field it seeks on (never a 500 from SQL)."""
    field = _model_field(model, path)
    if isinstance(field, models.DateTimeField):
        return isinstance(value, datetime.datetime) and value.tzinfo is not None
    if isinstance(field, (models.IntegerField, models.AutoField, models.ForeignKey)):
        return isinstance(value, int) and not isinstance(value, bool) and -_BIGINT <= value < _BIGINT
    if isinstance(field, (models.CharField, models.TextField)):
        return isinstance(value, str)
    if isinstance(field, models.FloatField):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


# --- orderings ----------------------------------------------------------------
@dataclass(frozen=True)
class Keyset:
    """An ordering of a queryset that a cursor can seek in: sort fields, then the id.

    ``fields`` are model field paths ending with a unique one (normally "id"); all in one
    direction, so one row comparison seeks and one index (scanned either way) serves it.
    """

    fields: tuple[str, ...]
    descending: bool = True

    def order_by(self) -> list:
        return [F(name).desc() if self.descending else F(name).asc() for name in self.fields]

    def values_of(self, row: Any) -> list[Any]:
        values = []
        for path in self.fields:
            value = row
            for part in path.split("__"):
                value = getattr(value, part)
            values.append(value)
        return values

    def cursor_of(self, row: Any) -> str:
        return encode_cursor(self.values_of(row))

    def seek(self, queryset, cursor: str):
        values = decode_cursor(cursor, len(self.fields))
        model = getattr(queryset, "model", None)
        if model is not None and not all(_fits(model, name, value) for name, value in zip(self.fields, values)):
            # A cursor of another ordering or connection (a LIKE_COUNT cursor in CREATED_AT order, say).
            raise BadUserInput("The cursor is not valid.", argument="after")
        lhs = Tuple(*[F(name) for name in self.fields])
        lookup = TupleLessThan if self.descending else TupleGreaterThan
        try:
            return queryset.filter(lookup(lhs, tuple(values)))
        except (ValueError, TypeError):
            raise BadUserInput("The cursor is not valid.", argument="after") from None

    def reversed(self) -> "Keyset":
        return Keyset(self.fields, not self.descending)


NEWEST_FIRST = Keyset(("created_at", "id"), descending=True)
OLDEST_FIRST = Keyset(("created_at", "id"), descending=False)


# --- pages --------------------------------------------------------------------
@dataclass
class Edge:
    cursor: str
    node: Any
    row: Any  # what the page was made of (a Follow for a list of users, say)


@dataclass
class Page:
    """One page of a connection: what a connection type resolves from."""

    rows: list
    keyset: Keyset
    has_next_page: bool
    has_previous_page: bool = False
    node_of: Callable[[Any], Any] = field(default=lambda row: row)

    @classmethod
    def from_rows(cls, rows: Sequence, keyset: Keyset, first: int, *, after: str | None = None,
                  node_of: Callable[[Any], Any] | None = None) -> "Page":
        """A page from rows already fetched with up to ``first + 1`` of them (e.g. a sliced prefetch)."""
        rows = list(rows)
        return cls(
            rows=rows[:first],
            keyset=keyset,
            has_next_page=len(rows) > first,
            has_previous_page=after is not None,
            node_of=node_of or (lambda row: row),
        )

    @cached_property
    def edges(self) -> list[Edge]:
        return [Edge(self.keyset.cursor_of(row), self.node_of(row), row) for row in self.rows]

    @property
    def nodes(self) -> list:
        return [self.node_of(row) for row in self.rows]


def paginate(queryset, keyset: Keyset, *, first: int | None, after: str | None = None,
             node_of: Callable[[Any], Any] | None = None) -> Page:
    """One page of ``queryset`` in ``keyset`` order, after ``after``: one SQL query, no OFFSET, no COUNT."""
    size = page_size(first)
    if after:
        queryset = keyset.seek(queryset, after)
    # `first: 0` still reads one row: hasNextPage says whether there are items (Relay's rule, and what
    # the nested connections and the feed answer).
    rows = list(queryset.order_by(*keyset.order_by())[: size + 1])
    return Page.from_rows(rows, keyset, size, after=after, node_of=node_of)


def first_page(loader, parent, info, first, after, queryset_of, keyset: Keyset, *, link: str):
    """A nested connection of ``parent`` (a post's comments, a user's posts...).

    The first page of every parent on a level of the result comes from one query: ``loader`` (a
    :class:`~schema.core.loaders.FirstRows`) reads the first ``first + 1`` rows of all those parents at
    once with a LATERAL join. A later page (``after`` given) seeks in ``queryset_of(parent.pk)``. Each
    row's ``link`` foreign key is set to ``parent``, so asking for it costs nothing.
    """
    size = page_size(first)

    def linked(rows):
        for row in rows:
            setattr(row, link, parent)
        return rows

    if after is None:
        return then(loader.of(info).load((parent.pk, size + 1)),
                    lambda rows: Page.from_rows(linked(rows), keyset, size))
    page = paginate(queryset_of(parent.pk), keyset, first=size, after=after)
    linked(page.rows)
    return page


# --- GraphQL types ------------------------------------------------------------
class PageInfo(graphene.ObjectType):
    """Where a page of a connection stands."""

    has_next_page = graphene.Boolean(required=True, description="Whether more items follow this page.")
    has_previous_page = graphene.Boolean(
        required=True, description="Whether items come before this page (true when `after` was given)."
    )
    start_cursor = graphene.String(description="The cursor of the first item of the page.")
    end_cursor = graphene.String(description="The cursor of the last item; pass it as `after` for the next page.")


def _resolve_page_info(page: Page, info):
    edges = page.edges
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


def connection_type(node_type, *, name: str | None = None, edge_fields: dict | None = None,
                    description: str | None = None, edge_description: str | None = None):
    """``XConnection { edges: [XEdge!]!, pageInfo: PageInfo! }`` and ``XEdge { cursor: String!, node: X! }``.

    ``edge_fields`` adds fields to the edge; their resolvers get the :class:`Edge` (``edge.row`` is the
    row the page was made of).
    """
    base = name or node_type._meta.name
    edge_attrs = {
        "cursor": graphene.String(required=True, description="Where this item stands; pass it as `after`."),
        "node": graphene.Field(node_type, required=True, description="The item."),
        "Meta": type("Meta", (), {"description": edge_description or f"One {base} in a page of a connection."}),
        **(edge_fields or {}),
    }
    edge = type(f"{base}Edge", (graphene.ObjectType,), edge_attrs)

    def resolve_edges(page: Page, info):
        return page.edges

    connection = type(
        f"{base}Connection",
        (graphene.ObjectType,),
        {
            "edges": graphene.List(graphene.NonNull(edge), required=True, description="The items of this page."),
            "page_info": graphene.Field(PageInfo, required=True, description="Where this page stands."),
            "resolve_edges": staticmethod(resolve_edges),
            "resolve_page_info": staticmethod(_resolve_page_info),
            "Meta": type("Meta", (), {"description": description or f"A page of {base} items, keyset-paginated."}),
        },
    )
    connection.Edge = edge
    return connection


def connection_field(connection, description: str, **extra_args) -> graphene.Field:
    """A field returning ``connection`` with ``first`` (default 20, at most 100) and ``after``."""
    return graphene.Field(
        connection,
        required=True,
        description=description,
        first=graphene.Int(description=f"How many items (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE})."),
        after=graphene.String(description="The cursor after which the page starts (a previous page's endCursor)."),
        **extra_args,
    )
