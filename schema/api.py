"""The one GraphQL schema, composed from each domain's Query, Mutation and Subscription classes.

To add a field: put it in the domain's ``queries.py`` / ``mutations.py`` /
``subscriptions.py`` class; this file only lists the classes.
"""

import graphene

from .core.node import NodeQueries
from .feed.mutations import FeedMutations
from .feed.queries import FeedQueries
from .interactions.analytics import AnalyticsMutations, AnalyticsQueries
from .interactions.mutations import InteractionMutations
from .interactions.queries import InteractionQueries
from .realtime.subscriptions import Subscription
from .core.docs import apply_descriptions
from .users.mutations import JWT_DESCRIPTIONS, UserMutations
from .users.queries import UserQueries


class Query(NodeQueries, UserQueries, FeedQueries, InteractionQueries, AnalyticsQueries, graphene.ObjectType):
    """Everything a client can read."""


class Mutation(UserMutations, FeedMutations, InteractionMutations, AnalyticsMutations, graphene.ObjectType):
    """Everything a client can change. Each takes one `input` and returns a payload with `errors`."""


schema = graphene.Schema(query=Query, mutation=Mutation, subscription=Subscription)
apply_descriptions(schema.graphql_schema, JWT_DESCRIPTIONS)
