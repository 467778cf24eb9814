import graphene


class InteractionQueries(graphene.ObjectType):
    pass
