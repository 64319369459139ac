"""Domain errors of devices. Each has a stable `type` slug; the API turns them into RFC 9457 problem details.

(Thing Description validation errors live beside these; the device-API errors are the ones below.)
"""

from collections.abc import Mapping, Sequence
from typing import Any

from makercloud.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class InvalidThingDescription(InvalidInput):
    """A Thing Description or Thing Model that makercloud refuses. `errors` lists each problem as
    `{"loc": JSON path such as "$.properties.temp.minimum", "msg": what is wrong}` (re-raised for the API with
    `loc` as a list, `["body", path]`); `detail` names the first."""

    type = "invalid-thing-description"
    title = "The Thing Description is not valid"

    def __init__(self, detail: str = "", *, errors: Sequence[Mapping[str, Any]]) -> None:
        first = errors[0] if errors else {"loc": "$", "msg": "not valid"}
        super().__init__(detail or f"{first['loc']}: {first['msg']}", errors=errors)
        self.errors = errors


class DeviceModelNotFound(NotFound):
    type = "device-model-not-found"
    title = "No such device model"


class DeviceNotFound(NotFound):
    type = "device-not-found"
    title = "No such device"


class InvocationNotFound(NotFound):
    type = "invocation-not-found"
    title = "No such invocation"


class NotDeviceController(PermissionDenied):
    type = "not-device-controller"
    title = "Only the device's owner and its venture's members may control it"


class NotDeviceOwner(PermissionDenied):
    type = "not-device-owner"
    title = "Only the device's owner or its venture's managers may do this"


class DeviceModelInUse(Conflict):
    type = "device-model-in-use"
    title = "Devices use this model version; it cannot be removed"


class UnusableDeviceModel(InvalidInput):
    type = "unusable-device-model"
    title = "This organisation cannot provision devices of that model"


class DeviceDisabled(Conflict):
    type = "device-disabled"
    title = "The device is disabled"


class AlreadyClaimed(Conflict):
    type = "already-claimed"
    title = "The device already belongs to a home"


class InvalidClaimCode(InvalidInput):
    type = "invalid-claim-code"
    title = "No device has this claim code"


class NotClaimed(Conflict):
    type = "not-claimed"
    title = "The device belongs to no home"


class UnknownAction(NotFound):
    type = "unknown-action"
    title = "The device's model has no such action"


class InvalidDeviceInput(InvalidInput):
    """Input that the device model's schema refuses; `errors` names each JSON path."""

    type = "validation"
    title = "The request is not valid"


class IdempotencyKeyReused(Conflict):
    type = "idempotency-key-reused"
    title = "This Idempotency-Key was used for a different request"
