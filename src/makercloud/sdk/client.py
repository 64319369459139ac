"""`Client`: makercloud's HTTP API for apps and scripts, with a bearer token (an app's OAuth access token or a
personal access token).

    with Client("http://127.0.0.1:8000", token) as mc:
        twin = mc.devices.get(device_id)
        mc.devices.set_desired(device_id, {"programme": "eco"})
        done = mc.devices.invoke(device_id, "start", {"programme": "eco"}, wait=10)
        for event in mc.devices.events(device_id, name="cycleFinished"):
            ...

Every refusal raises `ApiError` (the RFC 9457 problem). A 429 is retried after its Retry-After, a bounded number of
times; an invocation carries an Idempotency-Key, so a retried one never runs twice.
"""

import builtins
import json as json_module
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, cast

import httpx

from makercloud.sdk._http import USER_AGENT, body_of, error_of, retry_after, root_of
from makercloud.sdk.errors import ApiError
from makercloud.sdk.models import (
    App,
    Delivery,
    DeviceEvent,
    Grant,
    Invocation,
    StreamMessage,
    TelemetryBucket,
    TelemetryPoint,
    Twin,
    WebhookEndpoint,
)
from makercloud.sdk.oauth import OAuthFlow, Tokens

Params = Mapping[str, str | int | float | None]


def _time(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("Times sent to makercloud carry a time zone (e.g. datetime.now(UTC)).")
    return value.isoformat()


class Client:
    """makercloud's API with one bearer token. Thread-safe; close it (or use `with`) when done.

    `max_retries` bounds how often a 429 (or a 503 with Retry-After) is retried; a Retry-After longer than
    `max_retry_wait` seconds is not waited for: the `ApiError` (with `retry_after`) is raised at once.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 40.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = root_of(base_url)
        self.token = token
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._http = httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=timeout, transport=transport,
                                  headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                                  follow_redirects=False)
        self._flow: OAuthFlow | None = None
        self._tokens: Tokens | None = None
        self._on_refresh: Callable[[Tokens], None] | None = None
        self._refresh_lock = threading.Lock()
        self.devices = Devices(self)
        self.invocations = Invocations(self)
        self.grants = Grants(self)
        self.apps = Apps(self)
        self.webhooks = Webhooks(self)

    @classmethod
    def for_app(
        cls, flow: OAuthFlow, tokens: Tokens, *, on_refresh: Callable[[Tokens], None] | None = None, **options: Any
    ) -> "Client":
        """A client on an app's tokens that renews them itself: shortly before the access token expires, or once
        when the API answers 401. `on_refresh` gets every new pair — store it: the old refresh token is dead."""
        client = cls(flow.base_url, tokens.access_token, **options)
        client._flow, client._tokens, client._on_refresh = flow, tokens, on_refresh
        return client

    @property
    def tokens(self) -> Tokens | None:
        """The app's current tokens (`for_app` clients), after any refresh."""
        return self._tokens

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # The person ----------------------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """Who the token acts for: `{id, email, name, …}`."""
        return cast(dict[str, Any], self.request("GET", "/me"))

    # Plumbing ------------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One API call (path below /api/v1) → its JSON body (None for 204). Raises `ApiError` when refused."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        retries = 0
        renewed = False
        while True:
            self._renew_if_due()
            sent = {"Authorization": f"Bearer {self.token}", **(headers or {})}
            response = self._http.request(method, path, params=query, json=json, headers=sent)
            status = response.status_code
            if status in (429, 503) and retries < self.max_retries:
                wait = retry_after(response)
                if wait is None and status == 429:
                    wait = float(2**retries)
                if wait is not None and wait <= self.max_retry_wait:
                    retries += 1
                    self._sleep(wait)
                    continue
            if status == 401 and not renewed and self._flow is not None:
                renewed = True
                if self._renew(failed=sent["Authorization"][7:]):
                    continue
            if response.is_error:
                raise error_of(response)
            return None if status == 204 else body_of(response)

    def pages(self, path: str, *, params: Params | None = None, page_size: int | None = None) -> Iterator[Any]:
        """Every item of a cursor-paginated list, fetching page after page as you iterate."""
        query: dict[str, str | int | float | None] = {**(params or {}), "limit": page_size}
        while True:
            page = self.request("GET", path, params=query)
            yield from page.get("items") or []
            cursor = page.get("next_cursor")
            if not cursor:
                return
            query["cursor"] = cursor

    def sse(self, path: str, *, last_event_id: str = "", reconnect: bool = True) -> Iterator[StreamMessage]:
        """Server-Sent Events from `path`: each message's `event`, `id` and JSON `data`. Reconnects after the
        server's `retry` interval (3 s unless it says otherwise), resuming with Last-Event-ID."""
        wait = 3.0
        while True:
            self._renew_if_due()
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
            if last_event_id:
                headers["Last-Event-ID"] = last_event_id
            with self._http.stream("GET", path, headers=headers) as response:
                if response.is_error:
                    response.read()
                    raise error_of(response)
                fields: dict[str, str] = {}
                data: list[str] = []
                for line in response.iter_lines():
                    if line.startswith(":"):  # a comment: the heartbeat
                        continue
                    if line:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "data":
                            data.append(value)
                        elif name == "retry" and value.isdigit():
                            wait = int(value) / 1000
                        else:
                            fields[name] = value
                        continue
                    if data:  # a blank line ends a message
                        last_event_id = fields.get("id", last_event_id)
                        yield StreamMessage(event=fields.get("event", "message"), id=fields.get("id", ""),
                                            data=json_module.loads("\n".join(data)))
                    fields, data = {}, []
            if not reconnect:
                return
            self._sleep(wait)

    def _renew_if_due(self) -> None:
        tokens = self._tokens
        if self._flow is not None and tokens is not None and tokens.refresh_token and tokens.expires_within(30):
            self._renew(failed=tokens.access_token)

    def _renew(self, *, failed: str) -> bool:
        """Refresh the app's tokens (once, however many threads find them stale). False when that is refused —
        the grant was revoked or the refresh token is dead — and the caller raises the API's own error."""
        assert self._flow is not None
        with self._refresh_lock:
            if self.token != failed:  # another thread renewed them meanwhile
                return True
            if self._tokens is None or not self._tokens.refresh_token:
                return False
            try:
                tokens = self._flow.refresh(self._tokens)
            except ApiError:
                return False
            self._tokens, self.token = tokens, tokens.access_token
        if self._on_refresh is not None:
            self._on_refresh(tokens)
        return True


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Devices(_Resource):
    """Devices you (or the app's grant) can reach: twins, desired state, actions, telemetry, events."""

    def list(self, *, page_size: int | None = None) -> Iterator[Twin]:
        """Your home's devices (an app: only those granted to it)."""
        return cast(Iterator[Twin], self._client.pages("/me/devices", page_size=page_size))

    def get(self, device_id: str) -> Twin:
        """The twin: reported and desired state, desired version, delta, online, last seen."""
        return cast(Twin, self._client.request("GET", f"/devices/{device_id}"))

    def set_desired(self, device_id: str, state: Mapping[str, Any]) -> Twin:
        """Set writable properties (None removes a key); the device gets the new desired state."""
        return cast(Twin, self._client.request("PATCH", f"/devices/{device_id}/desired", json={"state": dict(state)}))

    def invoke(
        self,
        device_id: str,
        action: str,
        input: Any = None,
        *,
        wait: float | None = None,
        idempotency_key: str | None = None,
    ) -> Invocation:
        """Ask the device to perform `action`. With `wait` (at most 30 s) the answer comes when the device replied
        (status `ok`/`error`) or the wait is over (`pending`, or `timeout` past its deadline).

        An Idempotency-Key is always sent (a fresh UUID unless you pass your own): a retry — by this client after a
        429, or by you with the same key — returns the first invocation instead of running the action twice."""
        key = idempotency_key or str(uuid.uuid4())
        return cast(Invocation, self._client.request(
            "POST", f"/devices/{device_id}/actions/{action}", params={"wait": wait}, json={"input": input},
            headers={"Idempotency-Key": key},
        ))

    def invocations(self, device_id: str, *, action: str | None = None, status: str | None = None,
                    page_size: int | None = None) -> Iterator[Invocation]:
        """The device's invocations, newest first."""
        return cast(Iterator[Invocation], self._client.pages(
            f"/devices/{device_id}/invocations", params={"action": action, "status": status}, page_size=page_size))

    def telemetry(
        self,
        device_id: str,
        *,
        property: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[TelemetryPoint]:
        """Raw telemetry points, newest first (since inclusive, until exclusive), page after page."""
        params = {"property": property, "since": _time(since), "until": _time(until)}
        return cast(Iterator[TelemetryPoint], self._client.pages(
            f"/devices/{device_id}/telemetry", params=params, page_size=page_size))

    def telemetry_buckets(
        self,
        device_id: str,
        bucket: str,
        *,
        property: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> builtins.list[TelemetryBucket]:
        """Aggregates per `minute`, `hour` or `day`: min, max, avg and count per property, oldest first."""
        params = {"bucket": bucket, "property": property, "since": _time(since), "until": _time(until)}
        answer = self._client.request("GET", f"/devices/{device_id}/telemetry", params=params)
        return cast(builtins.list[TelemetryBucket], answer.get("buckets") or [])

    def events(
        self,
        device_id: str,
        *,
        name: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[DeviceEvent]:
        """The events the device emitted, newest first, page after page."""
        params = {"name": name, "since": _time(since), "until": _time(until)}
        return cast(Iterator[DeviceEvent], self._client.pages(
            f"/devices/{device_id}/events", params=params, page_size=page_size))


    def stream(self, device_id: str, *, last_event_id: str = "", reconnect: bool = True) -> Iterator[StreamMessage]:
        """The device's live stream (Server-Sent Events; `events:subscribe`): `telemetry`, `event` and `twin`
        messages as they happen. When the server ends the stream, it is reopened from the last message's id (unless
        `reconnect=False`); stop iterating (or close the generator) to stop."""
        return self._client.sse(f"/devices/{device_id}/stream", last_event_id=last_event_id, reconnect=reconnect)


class Invocations(_Resource):
    def get(self, invocation_id: str) -> Invocation:
        """Where an invocation stands (`timeout` once past its deadline without a reply)."""
        return cast(Invocation, self._client.request("GET", f"/invocations/{invocation_id}"))

    def wait(self, invocation_id: str, *, timeout: float = 30.0, interval: float = 0.5) -> Invocation:
        """Poll until the invocation settles (or `timeout` seconds pass): its last state."""
        deadline = time.monotonic() + timeout
        while True:
            invocation = self.get(invocation_id)
            if invocation["status"] != "pending" or time.monotonic() >= deadline:
                return invocation
            time.sleep(interval)


class Grants(_Resource):
    """The apps a person connected (a personal access token with `grants:manage`, not an app's token)."""

    def list(self) -> Iterator[Grant]:
        return cast(Iterator[Grant], self._client.pages("/me/grants"))

    def revoke(self, grant_id: int) -> None:
        """The app loses the grant and every token of it, at once."""
        self._client.request("DELETE", f"/me/grants/{grant_id}")


class Apps(_Resource):
    """A venture's apps, for its makers (a personal access token with `apps:read` / `apps:write`)."""

    def register(
        self,
        venture_id: int,
        *,
        name: str,
        redirect_uris: builtins.list[str],
        scopes: builtins.list[str],
        client_type: str = "public",
        description: str = "",
    ) -> App:
        """A new app in the sandbox; a confidential one's `client_secret` is in this answer, once."""
        body = {"name": name, "description": description, "client_type": client_type,
                "redirect_uris": redirect_uris, "scopes": scopes}
        return cast(App, self._client.request("POST", f"/ventures/{venture_id}/apps", json=body))

    def get(self, app_id: int) -> App:
        return cast(App, self._client.request("GET", f"/apps/{app_id}"))

    def list(self, *, status: str | None = None) -> Iterator[App]:
        return cast(Iterator[App], self._client.pages("/apps", params={"status": status}))

    def submit(self, app_id: int) -> App:
        """From the sandbox to the operators' review queue."""
        return cast(App, self._client.request("POST", f"/apps/{app_id}/submit"))

    def review(self, app_id: int, decision: str, reason: str = "") -> App:
        """Operators: `approve`, `reject` or `suspend` (the last two with a reason)."""
        body = {"decision": decision, "reason": reason}
        return cast(App, self._client.request("POST", f"/apps/{app_id}/review", json=body))


class Webhooks(_Resource):
    """An app's webhook endpoints and delivery log, for its makers."""

    def create(
        self, app_id: int, url: str, event_types: builtins.list[str], *, description: str = ""
    ) -> WebhookEndpoint:
        """Subscribe `url`; the answer's `secret` (`whsec_…`) is shown this once: keep it to verify deliveries."""
        body = {"url": url, "event_types": event_types, "description": description}
        return cast(WebhookEndpoint, self._client.request("POST", f"/apps/{app_id}/webhooks", json=body))

    def list(self, app_id: int) -> builtins.list[WebhookEndpoint]:
        return cast(builtins.list[WebhookEndpoint], self._client.request("GET", f"/apps/{app_id}/webhooks"))

    def delete(self, app_id: int, endpoint_id: int) -> None:
        self._client.request("DELETE", f"/apps/{app_id}/webhooks/{endpoint_id}")

    def deliveries(self, app_id: int, *, state: str | None = None, event_type: str | None = None,
                   device_id: str | None = None) -> Iterator[Delivery]:
        """The delivery log, newest first."""
        params = {"state": state, "event_type": event_type, "device_id": device_id}
        return cast(Iterator[Delivery], self._client.pages(f"/apps/{app_id}/deliveries", params=params))
