from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "makercloud.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        # Every app's `jobs` module, in every process: the worker knows every job and schedule, the web enqueues.
        autodiscover_modules("jobs")
