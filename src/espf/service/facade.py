"""``Service``: every object's operations in one object, the one the API,
the CLI and the runner hold. Each base class is one object's operations
(one module each, as in ``api/``); they share the state of ``ServiceCore``.
A base class that needs another object's operations derives from it
(subscriptions use handlers and types), so each module type-checks alone."""

from __future__ import annotations

from espf.service.account_history import AccountHistoryOperations
from espf.service.accounts import AccountOperations
from espf.service.authorization import AuthenticationOperations
from espf.service.console import ConsoleOperations
from espf.service.deliveries import DeliveryOperations
from espf.service.event_types import EventTypeOperations
from espf.service.events import EventOperations
from espf.service.handlers import HandlerOperations
from espf.service.health import HealthOperations
from espf.service.maintenance import MaintenanceOperations
from espf.service.retention import RetentionOperations
from espf.service.schedules import ScheduleOperations
from espf.service.startup import StartupOperations
from espf.service.subscriptions import SubscriptionOperations
from espf.service.users import UserOperations


class Service(
    ConsoleOperations,
    EventOperations,
    ScheduleOperations,
    DeliveryOperations,
    SubscriptionOperations,
    MaintenanceOperations,
    HandlerOperations,
    EventTypeOperations,
    UserOperations,
    AuthenticationOperations,
    AccountOperations,
    AccountHistoryOperations,
    HealthOperations,
    RetentionOperations,
    StartupOperations,
):
    """The operations everyone calls (see the package docstring)."""
