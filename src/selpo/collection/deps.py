"""Authentication of a collection partner: ``Authorization: Bearer cp_...``.

A partner's key opens the partner's routes only (``/v1/collections``); a marketplace's key
is refused here, and a partner's key is refused on every marketplace route (its form is not
a marketplace key's). Nothing is written per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from selpo.collection import service
from selpo.collection.errors import MissingPartnerKey
from selpo.deps import SessionDep


def current_partner(request: Request, session: SessionDep) -> service.PartnerPrincipal:
    """The partner behind the bearer key."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise MissingPartnerKey()
    return service.authenticate(session, secret=secret.strip())


PartnerDep = Annotated[service.PartnerPrincipal, Depends(current_partner)]
