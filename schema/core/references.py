"""References up the layers of the GraphQL layer, by dotted path.

The domain packages of ``schema/`` are layered like the apps (users < feed < interactions <
notifications | analytics < timeline): a package imports only those below it. A type still shows
fields whose data a higher domain owns (``User.posts``, ``Post.comments``, ``Post.analytics``): the
field is declared on the type, with its type as a dotted string (graphene resolves
``"schema.feed.types.PostConnection"`` when the schema is built) and its resolver named the same way:

    posts = connection_field("schema.feed.types.PostConnection", "This user's posts, newest first.")
    resolve_posts = resolver("schema.feed.resolvers.user_posts")

The resolver is imported on first use, so no module imports one above it.
"""

from __future__ import annotations

from django.utils.module_loading import import_string


def resolver(path: str):
    """A resolver ``fn(root, info, **args)`` that calls the function at ``path`` (imported on first use)."""
    target = None

    def resolve(root, info, **args):
        nonlocal target
        if target is None:
            target = import_string(path)
        return target(root, info, **args)

    resolve.__name__ = resolve.__qualname__ = f"resolver({path})"
    return staticmethod(resolve)
