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
