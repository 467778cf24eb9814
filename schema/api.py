"""The one GraphQL schema, composed from each domain's Query, Mutation and Subscription classes.

To add a field: put it in the domain's ``queries.py`` / ``mutations.py`` /
``subscriptions.py`` class; this file only lists the classes. graphene collects the fields of the
bases last to first, so the printed order of the fields is that of the bases read backwards.
"""

import graphene

from .analytics.mutations import AnalyticsMutations
from .analytics.queries import AnalyticsQueries
from .core.budget import RateLimitQueries
from .core.docs import apply_descriptions
from .core.node import NodeQueries
from .feed.mutations import FeedMutations
from .feed.queries import FeedQueries
from .interactions.mutations import InteractionMutations
from .interactions.queries import InteractionQueries
from .notifications.mutations import NotificationMutations
from .notifications.queries import NotificationQueries
from .realtime.subscriptions import Subscription
from .timeline.queries import TimelineQueries
from .users.mutations import JWT_DESCRIPTIONS, UserMutations
from .users.queries import UserQueries


class Query(RateLimitQueries, NodeQueries, UserQueries, TimelineQueries, FeedQueries, InteractionQueries, NotificationQueries,
            AnalyticsQueries, graphene.ObjectType):
    """Everything a client can read."""


class Mutation(UserMutations, FeedMutations, NotificationMutations, InteractionMutations, AnalyticsMutations,
               graphene.ObjectType):
    """Everything a client can change. Each takes one `input` and returns a payload with `errors`."""


schema = graphene.Schema(query=Query, mutation=Mutation, subscription=Subscription)
apply_descriptions(schema.graphql_schema, JWT_DESCRIPTIONS)
