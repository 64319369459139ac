"""django-oauth-toolkit, fitted to makercloud: which scopes an app may ask for, and the validator."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes


class AppScopes(SettingsScopes):
    """The scopes an app may be given: those it registered (all five for the metadata document)."""

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> Any:
        scopes = list(super().get_available_scopes(application, request, *args, **kwargs))
        app = getattr(application, "app", None) if application is not None else None
        if app is None:
            return scopes
        return [scope for scope in scopes if scope in app.scopes]

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> Any:
        return [s for s in super().get_default_scopes(application, request, *args, **kwargs)
                if s in self.get_available_scopes(application, request)]


class Validator(OAuth2Validator):
    pass
