"""Keyset (seek) pagination and Relay connection types.

graphene-django's DjangoConnectionField pages with OFFSET and counts every
page; this one seeks. A cursor is the opaque encoding of the sort key and the
id of a row; the page after it is ``WHERE (sort_key, id) < (cursor)`` on an
index of the same order, the page before it ``WHERE (sort_key, id) > (cursor)``
read in the opposite order (the same index scanned the other way) and handed
back in the list's order. Page 10,000 costs what page 1 costs, from either end,
and new rows never shift a page (no gaps, no repeats).

Arguments (the Relay cursor connections spec, as GitHub's API has them):
``first``/``after`` page forward, ``last``/``before`` page backward; ``after``
and ``before`` together bound a window. ``first`` and ``last`` together are
refused (BAD_USER_INPUT), as GitHub does. Without either, a page is 20 items:
from the start (or ``after``), or the 20 just before ``before`` when only
``before`` is given. Any edge's cursor works in either direction.

pageInfo: the flag on the side being paged is exact (one row more than the
page is read): ``hasNextPage`` forward, ``hasPreviousPage`` backward. The flag
on the other side is what the cursor says at no cost: ``hasPreviousPage`` is
true when ``after`` was given, ``hasNextPage`` when ``before`` was given (the
cursor's own item lies on that side; only if it was deleted since can that side
be empty). The spec allows either answer there; this is GitHub's behaviour too.

Use:

    PostConnection = connection_type(Post)                # XConnection / XEdge types
    posts = connection_field(PostConnection, "All posts.")  # first/last/after/before

    def resolve_posts(root, info, **page):
        return paginate(Post.objects.all(), NEWEST, **page)

``paginate`` returns a :class:`Page`; nested connections whose first (or last)
page was read for many parents at once become a page with ``Page.from_rows``
(see :func:`first_page`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Hashable, Sequence

import graphene

from common import prepared

from .errors import BadUserInput
# Cursors and orderings live in keyset.py; importable from here too, with the pages they make.
from .keyset import NEWEST_FIRST, OLDEST_FIRST, Keyset, decode_cursor, encode_cursor  # noqa: F401
from .loaders import then

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_size(first: int | None, argument: str = "first") -> int:
    """Validates ``first`` (or ``last``): 20 when left out, 0-100 allowed; BAD_USER_INPUT otherwise."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(f"`{argument}` must be between 0 and {MAX_PAGE_SIZE}.", argument=argument)
    return first


@dataclass(frozen=True)
class PageArgs:
    """A connection's validated arguments: how many items, which way, between which cursors."""

    size: int
    backward: bool = False
    after: str | None = None
    before: str | None = None

    @property
    def bounded(self) -> bool:
        """Whether a cursor was given (else the page starts at an end of the list)."""
        return self.after is not None or self.before is not None


def page_args(first: int | None = None, last: int | None = None, after: str | None = None,
              before: str | None = None) -> PageArgs:
    """The arguments of a connection field, checked (BAD_USER_INPUT for a bad count or both counts).

    ``last`` (or ``before`` alone, without ``first`` or ``after``) pages backward. An empty cursor
    string is no cursor.
    """
    after = after or None
    before = before or None
    if first is not None and last is not None:
        raise BadUserInput("Pass `first` or `last`, not both.", argument="last")
    if last is not None:
        return PageArgs(page_size(last, "last"), True, after, before)
    if first is None and before is not None and after is None:
        return PageArgs(DEFAULT_PAGE_SIZE, True, None, before)
    return PageArgs(page_size(first), False, after, before)


# --- pages --------------------------------------------------------------------
class Edge:
    """One item of a page: its node, the row the page was made of (a Follow for a list of users, say),
    and its cursor — encoded only when asked for (most pages ask for ``pageInfo.endCursor`` at most)."""

    __slots__ = ("_cursor", "_keyset", "node", "row")

    def __init__(self, cursor: str | None, node: Any, row: Any, keyset: Keyset | None = None):
        self._cursor = cursor
        self._keyset = keyset
        self.node = node
        self.row = row

    @property
    def cursor(self) -> str:
        if self._cursor is None:
            self._cursor = self._keyset.cursor_of(self.row)
        return self._cursor

    def __eq__(self, other):
        return (isinstance(other, Edge) and (self.cursor, self.node, self.row) == (other.cursor, other.node, other.row))

    def __repr__(self):
        return f"Edge(cursor={self.cursor!r}, node={self.node!r})"


@dataclass
class Page:
    """One page of a connection: what a connection type resolves from. ``rows`` are in the list's order."""

    rows: list
    keyset: Keyset
    has_next_page: bool
    has_previous_page: bool = False
    node_of: Callable[[Any], Any] = field(default=lambda row: row)
    total_count: int | None = None

    @classmethod
    def from_rows(cls, rows: Sequence, keyset: Keyset, page: PageArgs, *,
                  node_of: Callable[[Any], Any] | None = None, total_count: int | None = None) -> "Page":
        """A page from up to ``page.size + 1`` rows in the order they were read: the list's order when
        paging forward, the reverse (nearest ``before`` first) when paging backward. The extra row only
        says that more items lie that way."""
        rows = list(rows)
        more = len(rows) > page.size
        rows = rows[: page.size]
        if page.backward:
            rows.reverse()
            has_next, has_previous = page.before is not None, more
        else:
            has_next, has_previous = more, page.after is not None
        return cls(rows=rows, keyset=keyset, has_next_page=has_next, has_previous_page=has_previous,
                   node_of=node_of or (lambda row: row), total_count=total_count)

    @cached_property
    def edges(self) -> list[Edge]:
        return [Edge(None, self.node_of(row), row, self.keyset) for row in self.rows]

    @property
    def nodes(self) -> list:
        return [self.node_of(row) for row in self.rows]


def paginate(queryset, keyset: Keyset, *, first: int | None = None, last: int | None = None,
             after: str | None = None, before: str | None = None, node_of: Callable[[Any], Any] | None = None,
             total_count: int | None = None, shape: Hashable | None = None, model: type | None = None) -> Page:
    """One page of ``queryset`` in ``keyset`` order: one SQL query, no OFFSET, no COUNT.

    Forward (``first``, ``after``): seek past ``after``, read ``first + 1`` rows in ``keyset`` order.
    Backward (``last``, ``before``): seek short of ``before``, read ``last + 1`` rows in the reverse
    order (the same index scanned the other way), then hand them back in ``keyset`` order.
    ``total_count`` is passed through to ``totalCount`` (a counter the caller already has).

    ``shape`` names what ``queryset`` is (the same query set, parameters included, whenever the name is):
    the page's SQL is then compiled once per (shape, order, size, cursors given) and its rows made into
    instances the fast way (common.prepared). Hot lists pass one; anything else is compiled per request.
    With a shape, ``queryset`` may be a function that makes the query set, given with ``model``, its model: a
    page whose SQL is compiled already then never builds the query set.
    """
    page = page_args(first, last, after, before)
    if shape is not None:
        fast = _compiled_page(queryset, keyset, page, shape, model or queryset.model)
        if fast is not None:
            return Page.from_rows(fast, keyset, page, node_of=node_of, total_count=total_count)
    if callable(queryset):
        queryset = queryset()
    if page.after:
        queryset = keyset.seek(queryset, page.after)
    if page.before:
        queryset = keyset.seek(queryset, page.before, before=True)
    read_in = keyset.reversed() if page.backward else keyset
    # `first: 0` still reads one row: hasNextPage says whether there are items (Relay's rule, and what
    # the nested connections and the feed answer); `last: 0` likewise for hasPreviousPage.
    rows = list(queryset.order_by(*read_in.order_by())[: page.size + 1])
    return Page.from_rows(rows, keyset, page, node_of=node_of, total_count=total_count)


def _compiled_page(queryset, keyset: Keyset, page: PageArgs, shape: Hashable, model: type) -> list | None:
    """The rows of :func:`paginate` through a compiled shape; None when the keyset's fields are not columns."""
    read_in = keyset.reversed() if page.backward else keyset
    conditions, values = [], []
    for cursor, before in ((page.after, False), (page.before, True)):
        if cursor:
            sql = keyset.seek_sql(model, before=before)
            if sql is None:
                return None
            conditions.append(sql)
            values.extend(keyset.cursor_values(model, cursor, before=before))
    size = page.size

    def build(*params):
        narrowed, offset = queryset() if callable(queryset) else queryset, 0
        for sql in conditions:
            count = sql.count("%s")
            narrowed = narrowed.filter(prepared.condition(sql, params[offset:offset + count]))
            offset += count
        return narrowed.order_by(*read_in.order_by())[: size + 1]

    key = ("page", shape, keyset.fields, keyset.descending, page.backward, bool(page.after), bool(page.before), size)
    return prepared.fetch(key, build, *values)


def first_page(loader, parent, info, page: dict, queryset_of, keyset: Keyset, *, link: str,
               total_count: int | None = None, node_of: Callable[[Any], Any] | None = None):
    """A nested connection of ``parent`` (a post's comments, a user's posts...); ``page`` holds the
    field's arguments (first/last/after/before).

    The first page (or, with ``last``, the last page) of every parent on a level of the result comes
    from one query: ``loader`` (a :class:`~schema.core.loaders.FirstRows`) reads ``size + 1`` rows of
    all those parents at once with a LATERAL join, from the list's start or its end. A page given a
    cursor seeks in ``queryset_of(parent.pk)``. Each row's ``link`` foreign key is set to ``parent``,
    so asking for it costs nothing. ``node_of`` makes a row an edge's node (a Follow's user, say).
    """
    args = page_args(**page)

    def linked(rows):
        for row in rows:
            setattr(row, link, parent)
        return rows

    if not args.bounded:
        rows_of = loader.of(info)
        rows = rows_of.load((parent.pk, args.size + 1, args.backward, rows_of.left_out(info.field_nodes, info.fragments)))
        if rows.done():  # prefetched with the page (schema/core/prefetch.py): the page itself, no future
            return Page.from_rows(linked(rows.result()), keyset, args, node_of=node_of, total_count=total_count)
        return then(rows, lambda rows: Page.from_rows(linked(rows), keyset, args, node_of=node_of,
                                                      total_count=total_count))
    result = paginate(queryset_of(parent.pk), keyset, **page, node_of=node_of, total_count=total_count)
    linked(result.rows)
    return result


# --- GraphQL types ------------------------------------------------------------
class PageInfo(graphene.ObjectType):
    """Where a page of a connection stands."""

    has_next_page = graphene.Boolean(
        required=True,
        description="Whether items follow this page. Exact when paging forward (`first`); when paging "
        "backward (`last`), true when `before` was given.",
    )
    has_previous_page = graphene.Boolean(
        required=True,
        description="Whether items come before this page. Exact when paging backward (`last`); when paging "
        "forward (`first`), true when `after` was given.",
    )
    start_cursor = graphene.String(
        description="The cursor of the first item of the page; pass it as `before` for the previous page."
    )
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
                    description: str | None = None, edge_description: str | None = None,
                    total_count: str | None = None, total_count_required: bool = False):
    """``XConnection { edges: [XEdge!]!, pageInfo: PageInfo! }`` and ``XEdge { cursor: String!, node: X! }``.

    ``edge_fields`` adds fields to the edge; their resolvers get the :class:`Edge` (``edge.row`` is the
    row the page was made of). ``total_count`` (its description) adds ``totalCount``, resolved from
    ``Page.total_count``: only for lists whose size is a counter already stored on their parent (never
    a COUNT); ``Int!`` with ``total_count_required`` (every field of the type has one), else ``Int``.
    """
    base = name or node_type._meta.name
    edge_attrs = {
        "cursor": graphene.String(
            required=True, description="Where this item stands; pass it as `after` or `before`."
        ),
        "node": graphene.Field(node_type, required=True, description="The item."),
        "Meta": type("Meta", (), {"description": edge_description or f"One {base} in a page of a connection."}),
        **(edge_fields or {}),
    }
    edge = type(f"{base}Edge", (graphene.ObjectType,), edge_attrs)

    attrs = {
        "edges": graphene.List(graphene.NonNull(edge), required=True, description="The items of this page."),
        "page_info": graphene.Field(PageInfo, required=True, description="Where this page stands."),
        "resolve_page_info": staticmethod(_resolve_page_info),
        "Meta": type("Meta", (), {"description": description or f"A page of {base} items, keyset-paginated."}),
    }
    if total_count is not None:
        attrs["total_count"] = graphene.Int(required=total_count_required, description=total_count)
        attrs["resolve_total_count"] = staticmethod(lambda page, info: page.total_count)
    connection = type(f"{base}Connection", (graphene.ObjectType,), attrs)
    connection.Edge = edge
    return connection


def connection_field(connection, description: str, **extra_args) -> graphene.Field:
    """A field returning ``connection`` with ``first``/``after`` and ``last``/``before`` (0-100 items, default 20).

    Its resolver takes them as keyword arguments (``**page``) and passes them on to :func:`paginate`.
    """
    return graphene.Field(
        connection,
        required=True,
        description=description,
        first=graphene.Int(
            description=f"How many items from the start of the list, or from `after` (0-{MAX_PAGE_SIZE}; "
            f"default {DEFAULT_PAGE_SIZE} when neither `first` nor `last` is given). Not with `last`."
        ),
        after=graphene.String(
            description="Only items after this cursor (a previous page's endCursor, or any edge's cursor)."
        ),
        last=graphene.Int(
            description=f"How many items from the end of the list, or just before `before` (0-{MAX_PAGE_SIZE}); "
            "they still come in the list's order. Not with `first`."
        ),
        before=graphene.String(
            description="Only items before this cursor (a later page's startCursor, or any edge's cursor). "
            f"Given alone, the page is the {DEFAULT_PAGE_SIZE} items just before it."
        ),
        **extra_args,
    )
