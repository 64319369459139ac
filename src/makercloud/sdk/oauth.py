"""The OAuth 2 authorisation code flow with PKCE S256 against makercloud (or any RFC 8414 server).

    flow = OAuthFlow("http://127.0.0.1:8000", client_id="…", redirect_uri="http://127.0.0.1:8765/callback")
    request = flow.authorize(scopes=["devices:read", "devices:control"])   # send the person to request.url
    tokens = flow.exchange(request, callback_url)                             # the URL they came back to
    tokens = flow.refresh(tokens)                                             # rotation: keep the new pair
    flow.revoke(tokens.refresh_token)

Endpoints come from `/.well-known/oauth-authorization-server`; a confidential app passes `client_secret` (sent with
HTTP Basic), a public one none (PKCE alone proves the code is its own).
"""

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from makercloud.sdk._http import USER_AGENT, body_of, error_of, root_of
from makercloud.sdk.errors import OAUTH_ERROR_BASE, ApiError


def code_verifier() -> str:
    """A fresh PKCE code verifier: 64 URL-safe characters (RFC 7636 allows 43–128)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class AuthorizationRequest:
    """One trip to the consent screen: send the person to `url`; keep `state` and `code_verifier` until they return
    (server side, in their session — never in the URL)."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str
    scopes: tuple[str, ...]


@dataclass
class Tokens:
    """An access token and the refresh token that renews it. A refresh rotates both: always keep the newest."""

    access_token: str
    refresh_token: str | None
    expires_at: float | None  # seconds since the epoch
    scopes: list[str] = field(default_factory=list)
    token_type: str = "Bearer"  # noqa: S105 — the token type, not a secret

    @classmethod
    def from_response(cls, document: Mapping[str, Any], *, previous: "Tokens | None" = None) -> "Tokens":
        expires_in = document.get("expires_in")
        refresh = document.get("refresh_token") or (previous.refresh_token if previous else None)
        scope = document.get("scope")
        scopes = str(scope).split() if scope is not None else (list(previous.scopes) if previous else [])
        return cls(
            access_token=str(document["access_token"]),
            refresh_token=refresh,
            expires_at=time.time() + float(expires_in) if expires_in is not None else None,
            scopes=scopes,
            token_type=str(document.get("token_type") or "Bearer"),
        )

    def expires_within(self, seconds: float) -> bool:
        return self.expires_at is not None and self.expires_at - time.time() < seconds

    def to_dict(self) -> dict[str, Any]:
        """For storing (encrypted, as any credential) and `Tokens.from_dict` later."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at, "scopes": list(self.scopes), "token_type": self.token_type}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Tokens":
        return cls(access_token=data["access_token"], refresh_token=data.get("refresh_token"),
                   expires_at=data.get("expires_at"), scopes=list(data.get("scopes") or []),
                   token_type=data.get("token_type") or "Bearer")


def _oauth_error(error: str, detail: str, status: int = 400) -> ApiError:
    return ApiError(type=OAUTH_ERROR_BASE + error, title=error, status=status, detail=detail)


class OAuthFlow:
    """An app's side of the authorisation code flow with PKCE S256: authorise, exchange, refresh, revoke."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        redirect_uri: str,
        client_secret: str | None = None,
        scopes: Iterable[str] = ("devices:read",),
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = root_of(base_url)
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = tuple(scopes)
        self._http = httpx.Client(timeout=timeout, transport=transport, headers={"User-Agent": USER_AGENT},
                                  follow_redirects=False)
        self._metadata: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "OAuthFlow":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Discovery ------------------------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The RFC 8414 document, fetched once. Its `issuer` must be the platform asked (else a mix-up: refused)."""
        with self._lock:
            if self._metadata is None:
                response = self._http.get(f"{self.base_url}/.well-known/oauth-authorization-server")
                if response.is_error:
                    raise error_of(response)
                document = body_of(response)
                if not isinstance(document, dict) or "token_endpoint" not in document:
                    raise _oauth_error("invalid_metadata", "The server's metadata document has no token endpoint.",
                                       status=response.status_code)
                if str(document.get("issuer", "")).rstrip("/") != self.base_url:
                    raise _oauth_error("invalid_issuer", f"The metadata names {document.get('issuer')!r} as issuer, "
                                       f"not {self.base_url!r}.", status=response.status_code)
                if "S256" not in document.get("code_challenge_methods_supported", ["S256"]):
                    raise _oauth_error("invalid_metadata", "The server does not support PKCE S256.")
                self._metadata = document
            return self._metadata

    def _endpoint(self, name: str) -> str:
        url = self.metadata().get(name)
        if not url:
            raise _oauth_error("unsupported_endpoint", f"The server's metadata has no {name}.")
        return str(url)

    # The flow -------------------------------------------------------------------------------------------------

    def authorize(self, *, scopes: Iterable[str] | None = None, state: str | None = None) -> AuthorizationRequest:
        """Where to send the person: the consent screen, with a fresh state and PKCE S256 challenge."""
        chosen = tuple(scopes) if scopes is not None else self.scopes
        verifier = code_verifier()
        state = state or secrets.token_urlsafe(24)
        query = urlencode(
            {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
             "scope": " ".join(chosen), "state": state, "code_challenge": code_challenge(verifier),
             "code_challenge_method": "S256"},
            quote_via=quote,
        )
        return AuthorizationRequest(url=f"{self._endpoint('authorization_endpoint')}?{query}", state=state,
                                    code_verifier=verifier, redirect_uri=self.redirect_uri, scopes=chosen)

    def exchange(self, request: AuthorizationRequest, callback_url: str) -> Tokens:
        """The URL the person came back to → tokens. Refuses a callback whose state (or issuer) is not this
        request's, and raises the server's error (e.g. `access_denied` when the person said no)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(callback_url).query).items()}
        if query.get("state") != request.state:
            raise _oauth_error("state_mismatch", "The callback's state is not the one this request sent.")
        if "iss" in query and query["iss"].rstrip("/") != str(self.metadata().get("issuer", "")).rstrip("/"):
            raise _oauth_error("invalid_issuer", "The callback comes from another authorisation server.")
        if "error" in query:
            raise _oauth_error(query["error"], query.get("error_description", ""), status=400)
        if not query.get("code"):
            raise _oauth_error("invalid_request", "The callback carries no code.")
        return self._token({"grant_type": "authorization_code", "code": query["code"],
                            "redirect_uri": request.redirect_uri, "code_verifier": request.code_verifier})

    def refresh(self, tokens: Tokens | str) -> Tokens:
        """New tokens for a refresh token. The old refresh token is dead afterwards (and replaying it ends the whole
        family): store the returned `Tokens` before using them."""
        previous = tokens if isinstance(tokens, Tokens) else None
        refresh_token = tokens.refresh_token if isinstance(tokens, Tokens) else tokens
        if not refresh_token:
            raise _oauth_error("invalid_request", "There is no refresh token to use.")
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token}, previous=previous)

    def revoke(self, token: str, *, hint: str = "refresh_token") -> None:
        """RFC 7009: revoke a token (a refresh token ends its access tokens too). Unknown tokens are not an error."""
        response = self._http.post(self._endpoint("revocation_endpoint"), auth=self._auth(),
                                   data=self._client_fields({"token": token, "token_type_hint": hint}))
        if response.is_error:
            raise error_of(response)

    # Client authentication ------------------------------------------------------------------------------------

    def _auth(self) -> httpx.Auth | httpx._client.UseClientDefault:
        if self.client_secret is None:
            return httpx.USE_CLIENT_DEFAULT  # the client has none: a public client sends its client_id in the body
        # RFC 6749 §2.3.1: both form-urlencoded before Basic
        return httpx.BasicAuth(quote(self.client_id, safe=""), quote(self.client_secret, safe=""))

    def _client_fields(self, data: dict[str, str]) -> dict[str, str]:
        return data if self.client_secret is not None else {**data, "client_id": self.client_id}

    def _token(self, data: dict[str, str], *, previous: Tokens | None = None) -> Tokens:
        response = self._http.post(self._endpoint("token_endpoint"), data=self._client_fields(data),
                                   auth=self._auth(), headers={"Accept": "application/json"})
        if response.is_error:
            raise error_of(response)
        document = body_of(response)
        if not isinstance(document, dict) or "access_token" not in document:
            raise _oauth_error("invalid_response", "The token endpoint answered without an access token.",
                               status=response.status_code)
        return Tokens.from_response(document, previous=previous)
