"""Which devices an automation or a scene may use: checked when it is saved, and again at every run.

- A person's automations and scenes use only the devices in their home — those they own (claimed). Being a member
  of the venture that made or provisioned a device lets a person look after it for support
  (`devices.selectors.can_control`), but not make it part of their own automations: a customer's washer must not
  start because someone at its maker set up a scene.
- An app's (created with an OAuth token) use only the devices of its grant, while the grant is in force with
  `devices:control`, and only while the person behind the app may still control them — as the device API requires
  of the app's token.

A device that does not exist gets the same answer as one that is not allowed, so that ids cannot be probed.
"""

from django.utils.translation import gettext as _

from makercloud.accounts.models import User
from makercloud.automations import grants
from makercloud.developers.models import Grant
from makercloud.devices import selectors as device_selectors
from makercloud.devices.models import Device


class DeviceRule:
    """The rule for one person, or for one app acting for them under `grant`; the grant's devices are read once."""

    def __init__(self, *, person: User, grant: Grant | None) -> None:
        self.person, self.grant = person, grant
        self._granted: set[str] | None = None

    def _in_grant(self, device_id: str) -> bool:
        assert self.grant is not None
        if self._granted is None:
            self._granted = grants.granted_devices(self.grant) if grants.CONTROL in (self.grant.scopes or []) else set()
        return device_id in self._granted

    def allows(self, device: Device | None) -> bool:
        if device is None:
            return False
        if self.grant is None:
            return device.owner_id is not None and device.owner_id == self.person.pk
        return self._in_grant(device.pk) and device_selectors.can_control(person=self.person, device=device)

    def refusal_on_saving(self, device_id: str) -> str:
        """The message for a device that may not be used (whether or not it exists), when an automation is saved."""
        if self.grant is None:
            return _("Device %(device)s is not in your home: automations and scenes may use only the devices in "
                     "your home.") % {"device": device_id}
        return _("Device %(device)s was not granted to this app for control.") % {"device": device_id}

    def refusal_at_run(self, device: Device | None, device_id: str) -> str:
        """The run log's entry for a device that may no longer be used (it changed hands, or the grant changed)."""
        label = device.name if device is not None else device_id
        if self.grant is None:
            return _("%(device)s is no longer in %(person)s's home.") % {
                "device": label, "person": self.person.name or self.person.email}
        return _("The app may no longer control %(device)s.") % {"device": label}
