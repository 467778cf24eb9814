import graphene


class FeedMutations(graphene.ObjectType):
    pass
