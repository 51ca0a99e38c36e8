"""The names the scaffold checks and the names it derives from them.

A command's name reads as a verb and a noun (``ReserveStock``), so its success event reads as the
noun and the verb's participle (``StockReserved``), the way the onboarding saga's events do
(``CreateWorkspace`` -> ``WorkspaceCreated``). A verb the table below does not know gives
``<Command>Completed`` rather than a guess.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

# The definition model's own patterns: a name the scaffold accepts is one ``Saga`` accepts.
from sagakit.definition import _PASCAL, _SERVICE, camel_to_snake, service_package

__all__ = [
    "RESERVED_MODULE_NAMES",
    "RESERVED_SERVICES",
    "Wording",
    "check_command_name",
    "check_event_name",
    "check_saga_name",
    "check_service_name",
    "kebab",
    "saga_name",
    "words",
]

#: Names a service cannot take: ``functions/shared`` is no service, ``events/export.py`` and
#: ``events/fields.py`` are not producers, ``sagakit`` is the lifecycle events' source and
#: ``saga-starter`` the starter functions' service name.
RESERVED_SERVICES = frozenset({"shared", "export", "fields", "sagakit", "saga-starter"})

#: Module-level names of a service's ``logic.py`` and ``handlers`` package that a command's
#: snake_case name must not shadow.
RESERVED_MODULE_NAMES = frozenset({"dal", "errors", "handler", "handlers", "logger", "logic", "models"})

#: Past participles of the verbs commands usually start with.
PARTICIPLES: dict[str, str] = {
    "accept": "Accepted",
    "activate": "Activated",
    "add": "Added",
    "allocate": "Allocated",
    "approve": "Approved",
    "archive": "Archived",
    "assign": "Assigned",
    "authorize": "Authorized",
    "bill": "Billed",
    "block": "Blocked",
    "book": "Booked",
    "build": "Built",
    "cancel": "Cancelled",
    "capture": "Captured",
    "charge": "Charged",
    "close": "Closed",
    "collect": "Collected",
    "confirm": "Confirmed",
    "create": "Created",
    "credit": "Credited",
    "deactivate": "Deactivated",
    "debit": "Debited",
    "delete": "Deleted",
    "deliver": "Delivered",
    "deploy": "Deployed",
    "deprovision": "Deprovisioned",
    "disable": "Disabled",
    "dispatch": "Dispatched",
    "enable": "Enabled",
    "enroll": "Enrolled",
    "grant": "Granted",
    "hold": "Held",
    "invoice": "Invoiced",
    "issue": "Issued",
    "load": "Loaded",
    "lock": "Locked",
    "notify": "Notified",
    "open": "Opened",
    "order": "Ordered",
    "pack": "Packed",
    "pay": "Paid",
    "pick": "Picked",
    "place": "Placed",
    "prepare": "Prepared",
    "provision": "Provisioned",
    "publish": "Published",
    "purchase": "Purchased",
    "record": "Recorded",
    "refund": "Refunded",
    "register": "Registered",
    "reject": "Rejected",
    "release": "Released",
    "remove": "Removed",
    "reserve": "Reserved",
    "restore": "Restored",
    "return": "Returned",
    "revert": "Reverted",
    "revoke": "Revoked",
    "schedule": "Scheduled",
    "send": "Sent",
    "ship": "Shipped",
    "sign": "Signed",
    "start": "Started",
    "stop": "Stopped",
    "submit": "Submitted",
    "suspend": "Suspended",
    "transfer": "Transferred",
    "unload": "Unloaded",
    "unlock": "Unlocked",
    "unpack": "Unpacked",
    "unregister": "Unregistered",
    "update": "Updated",
    "upgrade": "Upgraded",
    "validate": "Validated",
    "verify": "Verified",
    "void": "Voided",
    "withdraw": "Withdrawn",
}


def words(name: str) -> list[str]:
    """``ReserveStock`` -> ``["Reserve", "Stock"]``."""
    return [part.capitalize() for part in camel_to_snake(name).split("_")]


def kebab(name: str) -> str:
    """``ShipOrder`` -> ``ship-order``."""
    return camel_to_snake(name).replace("_", "-")


def saga_name(name: str) -> str:
    """The saga's name: ``ShipOrder`` and ``ShipOrderSaga`` both give ``ShipOrderSaga``."""
    return name if name.endswith("Saga") else f"{name}Saga"


@dataclass(frozen=True)
class Wording:
    """How a command reads: ``ReserveStock`` -> noun ``Stock``, participle ``Reserved``.

    A name with no known leading verb is all noun, done when ``Completed``:
    ``Foo`` -> ``FooCompleted``.
    """

    command: str
    noun: str
    participle: str

    @classmethod
    def of(cls, command: str) -> Wording:
        """The wording of ``command``."""
        parts = words(command)
        participle = PARTICIPLES.get(parts[0].lower())
        if participle is None or len(parts) == 1:
            return cls(command=command, noun=command, participle="Completed")
        return cls(command=command, noun="".join(parts[1:]), participle=participle)

    @property
    def snake(self) -> str:
        """The command's module and function name: ``reserve_stock``."""
        return camel_to_snake(self.command)

    @property
    def event(self) -> str:
        """The event the command returns: ``StockReserved``."""
        return f"{self.noun}{self.participle}"

    @property
    def noun_snake(self) -> str:
        """``stock``; ``welcome_email`` for ``SendWelcomeEmail``."""
        return camel_to_snake(self.noun)

    @property
    def noun_text(self) -> str:
        """``stock``; ``welcome email`` for ``SendWelcomeEmail`` (for docstrings and messages)."""
        return self.noun_snake.replace("_", " ")

    @property
    def id_field(self) -> str:
        """The record's id field: ``stock_id`` (``record_id`` where that would be ``client_id``)."""
        field = f"{self.noun_snake}_id"
        return "record_id" if field == "client_id" else field

    @property
    def id_prefix(self) -> str:
        """The prefix of the record's derived id: ``stock`` -> ``stock-6dc0474ff9bc``."""
        return self.noun_snake.replace("_", "-")

    @property
    def done_field(self) -> str:
        """``reserved``: a compensation's result flag, and ``reserved_at`` a step's timestamp."""
        return self.participle.lower()

    @property
    def record(self) -> str:
        """The record the command's service stores: ``StockRecord``."""
        return f"{self.noun}Record"

    @property
    def conflict(self) -> str:
        """The business error for a record another saga owns: ``StockConflict``."""
        return f"{self.noun}Conflict"


def check_saga_name(name: str) -> str | None:
    """Why ``name`` cannot name a saga, or ``None``."""
    if not _PASCAL.match(name):
        return f"{name!r} must be PascalCase (letters and digits, starting with a capital), like ShipOrderSaga"
    if name == "Saga":
        return "'Saga' alone names nothing; say what the saga does, like ShipOrderSaga"
    return None


def check_command_name(name: str) -> str | None:
    """Why ``name`` cannot name a step or compensation, or ``None``."""
    if not _PASCAL.match(name):
        return f"{name!r} must be PascalCase, like ReserveStock"
    snake = camel_to_snake(name)
    if keyword.iskeyword(snake) or snake in RESERVED_MODULE_NAMES:
        return f"{name!r} would be the Python name {snake!r}, which is reserved here; choose another name"
    return None


def check_event_name(name: str) -> str | None:
    """Why ``name`` cannot name an event, or ``None``."""
    if not _PASCAL.match(name):
        return f"{name!r} must be PascalCase, like ShipOrderRequested"
    return None


def check_service_name(name: str) -> str | None:
    """Why ``name`` cannot name a service, or ``None``."""
    if not _SERVICE.match(name):
        return f"{name!r} must be kebab-case (lower-case words joined by '-'), like ai-workspace"
    if keyword.iskeyword(service_package(name)):
        return f"{name!r} would be the Python package {service_package(name)!r}, a Python keyword"
    if name in RESERVED_SERVICES:
        return f"{name!r} is reserved ({', '.join(sorted(RESERVED_SERVICES))} are)"
    return None
