"""recordPostViews: clients report the posts they showed (impressions)."""

from __future__ import annotations

import graphene

from analytics import writes

from ..core.mutations import BaseMutation
from ..core.node import parse_global_id


def _fingerprint(context) -> str | None:
    """What identifies an anonymous viewer: client address and User-Agent (hashed before it is stored)."""
    meta = getattr(context, "META", None)
    if meta is not None:
        return f"{meta.get('REMOTE_ADDR', '')}|{meta.get('HTTP_USER_AGENT', '')}"
    scope = getattr(context, "scope", None)
    if isinstance(scope, dict):
        client = scope.get("client") or ("", 0)
        agent = dict(scope.get("headers") or []).get(b"user-agent", b"").decode(errors="replace")
        return f"{client[0]}|{agent}"
    return None


class RecordPostViews(BaseMutation):
    """Counts that the viewer saw these posts (impressions reported by clients in batches of up to 100). Anonymous
    viewers may report too; a viewer's repeated views of a post count once per 5 minutes.
    """

    login_required = False

    class Input:
        description = "The posts a client showed (impressions), reported in batches."
        post_ids = graphene.List(
            graphene.NonNull(graphene.ID),
            required=True,
            description=f"Global ids of posts the viewer saw; at most {writes.MAX_VIEW_IDS}. Ids that name no "
                        f"post are skipped.",
        )

    recorded = graphene.Int(
        required=True,
        description="How many views were counted: repeats in the list, unknown posts, an author's own posts and "
                    "posts this viewer was already counted for in the last few minutes are not.",
    )

    @classmethod
    def mutate(cls, root, info, input):
        payload = super().mutate(root, info, input)
        if payload.recorded is None:  # refused: nothing counted
            payload.recorded = 0
        return payload

    @classmethod
    def perform(cls, info, viewer, post_ids):
        writes.check_view_batch(post_ids)  # before parsing: unparseable ids count too
        pks = [parsed[1] for parsed in (parse_global_id(value, "Post") for value in post_ids) if parsed]
        recorded = writes.record_views(viewer, pks, fingerprint=_fingerprint(info.context))
        return {"recorded": recorded}


class AnalyticsMutations(graphene.ObjectType):
    record_post_views = RecordPostViews.Field()
