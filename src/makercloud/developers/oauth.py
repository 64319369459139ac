"""django-oauth-toolkit, fitted to makercloud (docs/apps.md).

- `S256Server`: PKCE with S256 only.
- `AppScopes`: an app may be given only the scopes it registered (of the five OAuth scopes).
- `Validator`: a suspended app's client is unknown; every token issued is counted in the app's usage.
- `bearer_authenticate`: the API's second kind of bearer token (after personal access tokens): an app's access
  token, good while its grant is active, for the grant's scopes (intersected with the token's) and devices.
- `IntrospectView` (RFC 7662) for resource servers, `MetadataView` (RFC 8414), and the /o/ endpoints.
"""

import calendar
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauth2_provider.models import AccessToken, Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.errors import InvalidToken
from makercloud.accounts.models import User
from makercloud.developers.models import OAUTH_SCOPES, App, AppStatus, Grant
from makercloud.developers.services import clients as services


class AppScopes(SettingsScopes):
    """The scopes an app may be given: those it registered (all five for the metadata document)."""

    def get_all_scopes(self) -> dict[str, str]:
        return {scope: str(text) for scope, text in OAUTH_SCOPES.items()}

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> Any:
        app = _app_of(application)
        if app is None:
            return list(OAUTH_SCOPES)
        return [scope for scope in OAUTH_SCOPES if scope in app.scopes]

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> Any:
        return self.get_available_scopes(application, request)


def _app_of(application: Any) -> App | None:
    if application is None:
        return None
    try:
        return application.app
    except App.DoesNotExist:
        return None


class S256Server(Server):
    """oauthlib's server with one PKCE method, S256: a `plain` challenge (or one without a method, which oauthlib
    would take as plain) is refused before the consent screen, not only when the code is made."""

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(request_validator, *args, **kwargs)
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}


class Validator(OAuth2Validator):
    def _load_application(self, client_id: str, request: Any) -> Any:
        client = super()._load_application(client_id, request)
        app = _app_of(client)
        if client is not None and (app is None or app.status == AppStatus.SUSPENDED):
            request.client = None
            return None
        return client

    def save_bearer_token(self, token: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        saved = super().save_bearer_token(token, request, *args, **kwargs)
        app = _app_of(request.client)
        if app is not None:
            services.usage_count(app_id=app.pk, tokens=1)
        return saved


# The API's bearer tokens of apps --------------------------------------------------------------------------------


@dataclass
class AppPrincipal:
    """Who calls with an app's token: the person who granted it, what the grant allows, the token itself."""

    person: User
    scopes: list[str]
    grant: Grant
    token: AccessToken
    unscoped_operations: bool = False  # an app's token may call only operations that name one of its scopes


def bearer_authenticate(raw: str) -> AppPrincipal | None:
    """An app's access token → its principal; None when it is no app token at all (then it is unknown)."""
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    token = (
        AccessToken.objects.select_related("user", "application__app__venture").filter(token_checksum=checksum).first()
    )
    if token is None:
        return None
    app = _app_of(token.application)
    if token.is_expired() or token.user is None or app is None or app.status == AppStatus.SUSPENDED:
        raise InvalidToken()
    grant = Grant.objects.filter(app=app, person=token.user, revoked_at__isnull=True).first()
    if grant is None:
        raise InvalidToken()
    person = token.user
    if app.status != AppStatus.APPROVED and not accounts_selectors.is_member(person=person, organisation=app.venture):
        raise InvalidToken()
    services.rate_limit_check(app_id=app.pk, token_id=token.pk)
    services.grant_touch(grant=grant)
    granted = set(token.scope.split())
    scopes = [scope for scope in grant.scopes if scope in granted]
    person.app_grant = grant  # devices.selectors narrow every read to the grant
    person.app_scopes = scopes
    return AppPrincipal(person=person, scopes=scopes, grant=grant, token=token)


# Endpoints ------------------------------------------------------------------------------------------------------


def issuer(request: HttpRequest) -> str:
    """MAKERCLOUD_PUBLIC_URL when it is set, else the origin the request came to."""
    return settings.OAUTH_ISSUER or request.build_absolute_uri("/").rstrip("/")


class MetadataView(View):
    """RFC 8414 authorization server metadata."""

    def get(self, request: HttpRequest) -> HttpResponse:
        base = issuer(request)
        document = {
            "issuer": base,
            "authorization_endpoint": base + reverse("oauth2_provider:authorize"),
            "token_endpoint": base + reverse("oauth2_provider:token"),
            "revocation_endpoint": base + reverse("oauth2_provider:revoke-token"),
            "introspection_endpoint": base + reverse("oauth2_provider:introspect"),
            "scopes_supported": list(OAUTH_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": base + "/api/v1/docs",
        }
        response = JsonResponse(document)
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = "public, max-age=3600"
        return response


def _client_credentials(request: HttpRequest) -> tuple[str, str] | None:
    import base64
    from urllib.parse import unquote_plus

    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except ValueError:
            return None
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    if "client_id" in request.POST and "client_secret" in request.POST:
        return request.POST["client_id"], request.POST["client_secret"]
    return None


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(View):
    """RFC 7662 token introspection, for an app's own resource servers.

    The caller authenticates as a confidential app (its client id and secret, HTTP Basic or in the body) and learns
    about that app's own tokens only: any other token, expired or revoked, is `{"active": false}`.
    """

    def post(self, request: HttpRequest) -> HttpResponse:
        from django.contrib.auth.hashers import check_password

        credentials = _client_credentials(request)
        application = None
        if credentials is not None:
            application = Application.objects.filter(
                client_id=credentials[0], client_type=Application.CLIENT_CONFIDENTIAL
            ).first()
        if application is None or not check_password(credentials[1] if credentials else "", application.client_secret):
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="makercloud"'
            return response
        raw = request.POST.get("token", "")
        if not raw:
            return JsonResponse({"error": "invalid_request", "error_description": "Send the token."}, status=400)
        return JsonResponse(_introspection(raw, application))


def _introspection(raw: str, application: Application) -> dict[str, Any]:
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    token = AccessToken.objects.select_related("user").filter(token_checksum=checksum, application=application).first()
    if token is None or not token.is_valid() or token.user is None:
        return {"active": False}
    grant = Grant.objects.filter(app__application=application, person=token.user, revoked_at__isnull=True).first()
    if grant is None:
        return {"active": False}
    scopes = [scope for scope in grant.scopes if scope in token.scope.split()]
    return {
        "active": True,
        "scope": " ".join(scopes),
        "client_id": application.client_id,
        "token_type": "Bearer",
        "exp": int(calendar.timegm(token.expires.utctimetuple())),
        "iat": int(calendar.timegm(token.created.utctimetuple())),
        "sub": str(token.user.pk),
        "devices": sorted(grant.devices.values_list("pk", flat=True)),
    }


def urlpatterns() -> list[Any]:
    """The OAuth endpoints under /o/ and the metadata document, in DOT's namespace (its own views reverse them)."""
    from makercloud.developers.views.clients import ConsentView

    return [
        path(".well-known/oauth-authorization-server", MetadataView.as_view(), name="oauth-server-metadata"),
        path("o/authorize/", ConsentView.as_view(), name="authorize"),
        path("o/token/", dot_views.TokenView.as_view(), name="token"),
        path("o/revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
        path("o/introspect/", IntrospectView.as_view(), name="introspect"),
    ]
