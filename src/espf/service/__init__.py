"""The operations everyone calls: the API, the CLI and the web page are thin
clients of this layer. It owns the rules (validation, subscriptions, who may
see what); the store owns persistence; the dispatcher owns timing and HTTP.

One module per object, as in ``api/``: ``events``, ``deliveries``,
``handlers``, ``subscriptions``, ``event_types``, ``users`` (and
environments), ``accounts``, ``sessions`` (logins and API tokens), ``console`` (what the
operator console reads beyond the API); ``authorization`` (who is asking, what they may
see), ``startup`` and ``health`` (schema, bootstrap, readiness, queue
gauges); the shared input rules in ``request_parsing`` and
``fingerprints``. ``facade.Service`` combines them into the one object
callers hold."""

from espf.service.accounts import AccountStatusView
from espf.service.authorization import own_events_only
from espf.service.events import EventDetail, EventPage
from espf.service.facade import Service
from espf.service.fingerprints import MAX_IDEMPOTENCY_KEY
from espf.service.health import QueueSnapshot
from espf.service.request_parsing import MAX_PAGE, parse_variable_filter
from espf.service.startup import Bootstrap

__all__ = [
    "MAX_IDEMPOTENCY_KEY",
    "MAX_PAGE",
    "AccountStatusView",
    "Bootstrap",
    "EventDetail",
    "EventPage",
    "QueueSnapshot",
    "Service",
    "own_events_only",
    "parse_variable_filter",
]
