"""The one base mutation: `input` in, a payload with `errors: [UserError!]!` out.

Subclasses have a docstring (the mutation field's description in the schema), declare ``Input``
(fields of ``<Name>Input``), payload fields, and
``perform(cls, info, viewer, **input)`` which calls a service and returns the
payload's fields as a dict. Services raise Django's ``ValidationError`` (field and
code), ``PermissionDenied`` or ``ObjectDoesNotExist``: they come back as
``errors`` with the matching ErrorCode, and the payload's other fields null.
``login_required = True`` (the default) makes an anonymous call a top-level
UNAUTHENTICATED error. ``write_limit = "likes"`` (a key of ``settings.GRAPHQL_WRITE_LIMITS``) counts
each call against the viewer's writes of that kind per window (``common.ratelimit``); one more is a
top-level RATE_LIMITED error and nothing is written.
"""

from __future__ import annotations

import inspect
import re

import graphene
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError

from django.conf import settings

from common import ratelimit
from common.metrics import count_rate_limit_refusal

from .auth import get_viewer
from .errors import (ErrorCode, RateLimited, Unauthenticated, UserError, user_error,
                     user_errors_from_validation)


def field_description(mutation) -> str:
    """A mutation class's docstring as one paragraph: the description of its field in the schema."""
    if not mutation.__doc__:
        raise TypeError(f"{mutation.__name__} needs a docstring: it is the mutation's description.")
    return " ".join(inspect.cleandoc(mutation.__doc__).split())


class BaseMutation(graphene.Mutation):
    errors = graphene.List(
        graphene.NonNull(UserError),
        required=True,
        description="What was wrong with the input; empty on success.",
    )

    class Meta:
        abstract = True

    login_required = True
    write_limit: str | None = None  # a key of settings.GRAPHQL_WRITE_LIMITS

    @classmethod
    def __init_subclass_with_meta__(cls, name=None, description=None, **options):
        base_name = re.sub("Payload$", "", name or cls.__name__)
        input_class = getattr(cls, "Input", None)
        bases = (graphene.InputObjectType,) + ((input_class,) if input_class else ())
        input_description = getattr(input_class, "description", None) or f"The input of {base_name[0].lower()}{base_name[1:]}."
        cls.Input = type(f"{base_name}Input", bases, {"Meta": type("Meta", (), {"description": input_description})})
        super().__init_subclass_with_meta__(
            name=f"{base_name}Payload",
            description=description or f"The result of {base_name[0].lower()}{base_name[1:]}.",
            arguments={"input": cls.Input(required=True, description="What to do; see the input type.")},
            **options,
        )

    @classmethod
    def Field(cls, *args, required=True, **kwargs):  # noqa: N802 - graphene's name
        """The mutation's field; its description is the class docstring (the one place it is written)."""
        return super().Field(*args, required=required, description=field_description(cls), **kwargs)

    @classmethod
    def mutate(cls, root, info, input):
        viewer = get_viewer(info)
        if cls.login_required and viewer is None:
            raise Unauthenticated()
        if cls.write_limit and viewer is not None:
            check_write_limit(cls.write_limit, viewer)
        try:
            payload = cls.perform(info, viewer, **input) or {}
        except ValidationError as error:
            return cls(errors=user_errors_from_validation(error))
        except PermissionDenied as error:
            return cls(errors=[user_error(ErrorCode.FORBIDDEN, str(error) or "You may not do this.")])
        except ObjectDoesNotExist as error:
            return cls(errors=[user_error(ErrorCode.NOT_FOUND, str(error) or "Not found.")])
        except IntegrityError:
            # Services are written so this does not happen; never let it reach a client as a 500.
            return cls(errors=[user_error(ErrorCode.INVALID, "That conflicts with existing data; try again.")])
        return cls(errors=[], **payload)

    @classmethod
    def perform(cls, info, viewer, **data) -> dict:
        raise NotImplementedError


def check_write_limit(kind: str, viewer) -> None:
    """Counts one write of ``kind`` by ``viewer``; RATE_LIMITED past GRAPHQL_WRITE_LIMITS[kind] per window."""
    limit = int(settings.GRAPHQL_WRITE_LIMITS[kind])
    window = int(settings.GRAPHQL_RATE_LIMIT_WINDOW_SECONDS)
    budget = ratelimit.charge(f"write:{kind}", ratelimit.caller(viewer.pk, None), 1, limit=limit, window=window)
    if not budget.allowed:
        count_rate_limit_refusal(f"write:{kind}")
        raise RateLimited(f"At most {limit} {kind} per {window} s; try again in {budget.retry_after} s.",
                          retryAfter=budget.retry_after)
