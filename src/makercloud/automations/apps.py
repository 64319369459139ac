from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationsConfig(AppConfig):
    name = "makercloud.automations"
    label = "automations"
    verbose_name = _("Automations")

    def ready(self) -> None:
        from makercloud.automations.matching import on_device_facts
        from makercloud.devices.signals import device_facts

        device_facts.connect(on_device_facts, dispatch_uid="automations.on_device_facts")
