"""The caller's point budget (as GitHub's GraphQL API): charging operations, headers, ``Query.rateLimit``.

Every operation that runs costs its points (schema/core/cost.py) from the budget of its caller: the
user when a valid token came with it, else the client address (``common.ratelimit.client_address``).
``GRAPHQL_RATE_LIMIT_POINTS`` (logged in) or ``GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS`` per
``GRAPHQL_RATE_LIMIT_WINDOW_SECONDS``; the window starts at the caller's first charge. An operation
that does not fit what is left is refused before it runs (RATE_LIMITED; HTTP 429 with Retry-After;
over websockets an error for that operation) and costs nothing. Subscription events cost a point
per ``GRAPHQL_SUBSCRIPTION_EVENTS_PER_POINT`` delivered; a subscription over budget ends with RATE_LIMITED.

HTTP responses carry ``X-RateLimit-Limit``, ``-Remaining``, ``-Used`` and ``-Reset`` (epoch seconds).
"""

from __future__ import annotations

from datetime import datetime, timezone

import graphene
from django.conf import settings

from common import ratelimit
from common.metrics import count_rate_limit_refusal

from .errors import RateLimited

BUDGET = "graphql"


def _user_id(user) -> int | None:
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def caller_of(context, user=None) -> str:
    """``u:<id>`` for a logged-in viewer (``user``, else ``context.user``), else ``a:<address>``."""
    if user is None:
        user = getattr(context, "user", None)
    return ratelimit.caller(_user_id(user), ratelimit.client_address(context))


def budget_of(who: str) -> tuple[int, int]:
    """(points, window seconds) of a caller."""
    points = (settings.GRAPHQL_RATE_LIMIT_POINTS if who.startswith("u:")
              else settings.GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS)
    return int(points), int(settings.GRAPHQL_RATE_LIMIT_WINDOW_SECONDS)


def charge(context, points: int, *, who: str | None = None, force: bool = False,
           slot: tuple[str, int] | None = None, read: str | None = None) -> ratelimit.Budget:
    """Charges ``points`` to the context's caller and keeps the result on it (for rateLimit and headers).

    ``slot`` = (slots name, cap): also takes one of the caller's concurrency slots in the same round trip
    when the charge is allowed; its token (None: every slot taken) is kept as ``context.slot_token``.
    ``read``: a Redis key read in the same round trip (``Budget.read``; not with ``slot``).
    """
    who = who or caller_of(context)
    limit, window = budget_of(who)
    if slot is not None:
        budget, token = ratelimit.charge_and_acquire(BUDGET, who, points, limit=limit, window=window,
                                                     slots=slot[0], cap=slot[1])
        if budget.allowed:
            context.slot_token = (who, token)
    else:
        budget = ratelimit.charge(BUDGET, who, points, limit=limit, window=window, force=force, read=read)
    try:
        context.rate_limit = budget
    except AttributeError:
        pass
    if not budget.allowed:
        count_rate_limit_refusal("points")
    return budget


def peek(who: str) -> ratelimit.Budget:
    limit, window = budget_of(who)
    return ratelimit.charge(BUDGET, who, 0, limit=limit, window=window)


def rate_limited(budget: ratelimit.Budget) -> RateLimited:
    return RateLimited(
        f"This operation costs {budget.cost} points and {budget.remaining} of {budget.limit} are left; "
        f"the budget resets in {budget.retry_after} s.",
        cost=budget.cost, remaining=budget.remaining, resetAt=_iso(budget.reset_at),
    )


def headers(budget: ratelimit.Budget) -> dict:
    return {
        "X-RateLimit-Limit": str(budget.limit),
        "X-RateLimit-Remaining": str(budget.remaining),
        "X-RateLimit-Used": str(min(budget.used, budget.limit)),
        "X-RateLimit-Reset": str(int(budget.reset_at)),
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).isoformat()


# --- Query.rateLimit ----------------------------------------------------------------------------
class RateLimit(graphene.ObjectType):
    """The caller's budget: every query costs points (about one per object it may return)."""

    limit = graphene.Int(required=True, description="Points the caller may spend per window (logged in, or "
                                                    "per client address when anonymous).")
    remaining = graphene.Int(required=True, description="Points left in the current window, after this query.")
    cost = graphene.Int(required=True, description="What the query that asked cost.")
    reset_at = graphene.DateTime(required=True, description="When the window ends and the budget is whole again.")


def resolve_rate_limit(root, info):
    budget = getattr(info.context, "rate_limit", None) or peek(caller_of(info.context))
    return RateLimit(limit=budget.limit, remaining=budget.remaining, cost=budget.cost,
                     reset_at=datetime.fromtimestamp(int(budget.reset_at), tz=timezone.utc))


class RateLimitQueries(graphene.ObjectType):
    rate_limit = graphene.Field(
        RateLimit, required=True, resolver=resolve_rate_limit,
        description="The caller's rate-limit budget and what this query costs.",
    )
