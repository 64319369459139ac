from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevelopersConfig(AppConfig):
    name = "makercloud.developers"
    label = "developers"
    verbose_name = _("Developers")

    def ready(self) -> None:
        from makercloud.developers.services.webhooks import device_facts_received
        from makercloud.devices.signals import device_facts

        # Webhooks (W): deliveries are written in the transaction that stores the device facts.
        device_facts.connect(device_facts_received, dispatch_uid="developers.webhooks")

        # Grants (A): a device that changes hands leaves the grants of the people who no longer have it.
        from django.db.models.signals import post_save

        from makercloud.developers.services.clients import grants_follow_device_owner
        from makercloud.devices.models import Device

        post_save.connect(grants_follow_device_owner, sender=Device, dispatch_uid="developers.grants_owner")
