"""The receiving side of the ESPF contract, for the Application.

::

    from espf.receiver import BasicAuth, Event, Receiver, Reject, RetryLater

    receiver = Receiver(BasicAuth("espf", "s3cret"))

    @receiver.on("Account/Service/Netaccess/QuotaExceeded")
    def quota_exceeded(event: Event) -> None:
        block(event.variable("i_account"))      # raise RetryLater(after=30) if the HSS is busy

    @receiver.on("Account/*")
    def other_account_events(event: Event) -> None:
        ...

    app.mount("/espf", receiver.asgi())         # Starlette, FastAPI
    # Flask: DispatcherMiddleware(app.wsgi_app, {"/espf": receiver.wsgi()})

Each request is verified (auth, ``Date``), parsed into an :class:`Event`,
routed by event type, deduplicated on ``i_event`` (and ``webhook-id``), and
the handler's outcome becomes a status espf understands: returning 200,
:class:`Reject` 4xx (never resent), :class:`RetryLater` 503 with
Retry-After, any other exception 500 (logged; resent).
"""

from espf.receiver.auth import (
    Authenticator,
    BasicAuth,
    NoAuth,
    NotAuthenticated,
    SignatureAuth,
    TokenAuth,
)
from espf.receiver.core import Receiver
from espf.receiver.dedup import Claim, ClaimResult, DedupStore, MemoryDedup, SqliteDedup
from espf.receiver.event import BadEvent, Event, parse_event
from espf.receiver.outcomes import Reject, RetryLater
from espf.receiver.request import Answer, Headers, IncomingRequest

__all__ = [
    "Answer",
    "Authenticator",
    "BadEvent",
    "BasicAuth",
    "Claim",
    "ClaimResult",
    "DedupStore",
    "Event",
    "Headers",
    "IncomingRequest",
    "MemoryDedup",
    "NoAuth",
    "NotAuthenticated",
    "Receiver",
    "Reject",
    "RetryLater",
    "SignatureAuth",
    "SqliteDedup",
    "TokenAuth",
    "parse_event",
]
