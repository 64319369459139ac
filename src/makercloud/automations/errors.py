"""Domain errors of automations and scenes. Each has a stable `type`; the API turns them into problem details."""

from makercloud.core.errors import InvalidInput, NotFound, PermissionDenied


class AutomationNotFound(NotFound):
    type = "automation-not-found"
    title = "No such automation"


class SceneNotFound(NotFound):
    type = "scene-not-found"
    title = "No such scene"


class DeviceNotControllable(PermissionDenied):
    """A device the person (or the app acting for them) may not control — or that they cannot see at all: both
    answer alike, so that device ids cannot be probed."""

    type = "device-not-controllable"
    title = "You may not control this device"


class InvalidAutomation(InvalidInput):
    """A trigger or an action that does not fit the device's model (or is malformed); `errors` locates each."""

    type = "validation"
    title = "The request is not valid"
