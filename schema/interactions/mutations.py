import graphene


class InteractionMutations(graphene.ObjectType):
    pass
