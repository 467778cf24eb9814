import graphene


class FeedQueries(graphene.ObjectType):
    pass
