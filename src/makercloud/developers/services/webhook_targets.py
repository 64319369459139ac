"""developers services: where webhooks may go — public internet addresses only (SSRF guard; docs/webhooks.md).

A maker chooses the URL the platform POSTs to, so without a guard they could make the delivery worker reach what
only the platform's own network reaches: 127.0.0.1, 10.0.0.0/8, the cloud's metadata service at 169.254.169.254, ….
Two checks:

- `target_refusal` when an endpoint is registered or changed: an IP literal, or every address a name resolves to,
  must be public (a name that does not resolve yet is accepted: the delivery checks it again).
- `GuardedTransport` at delivery time: its network backend resolves the host itself, refuses the connection if any
  address is not public, and connects to an address it checked — so a name whose DNS answer changed since
  registration (rebinding) cannot slip through between a check and the connect. TLS still verifies the URL's host
  name (httpcore takes SNI and the certificate's name from the URL, not from the address connected to).

`settings.WEBHOOK_ALLOW_PRIVATE` (MAKERCLOUD_WEBHOOK_ALLOW_PRIVATE) turns both off, for development and tests that
deliver to receivers on 127.0.0.1.
"""

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: judged by the IPv4 address it carries
SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
# Why an address is not public, in the order checked; stored in English in the delivery log, translated on forms.
KINDS = {
    "unspecified": gettext_noop("unspecified"),
    "loopback": gettext_noop("loopback"),
    "link-local": gettext_noop("link-local, e.g. a cloud metadata service"),
    "multicast": gettext_noop("multicast"),
    "shared": gettext_noop("carrier-grade NAT"),
    "reserved": gettext_noop("reserved"),
    "private": gettext_noop("private network"),
    "not global": gettext_noop("not globally reachable"),
}


class TargetRefused(Exception):
    """A delivery's host is, or resolves to, an address that is not public: the connection is not made."""


def address_kind(address: Address) -> str | None:
    """Why `address` is not a public internet address (a key of KINDS), or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None)
        if embedded is not None:
            return address_kind(embedded)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in SHARED:
        return "shared"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not global"
    return None


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, in the resolver's order; raises OSError when it does not resolve."""
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _is_localhost(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _refused(host: str, addresses: Iterable[Address]) -> tuple[Address, str] | None:
    """The first address of `host` that is not public, with why; None when all are public."""
    if _is_localhost(host):  # RFC 6761: always loopback, whatever DNS says
        return ipaddress.IPv4Address("127.0.0.1"), "loopback"
    for address in addresses:
        kind = address_kind(address)
        if kind is not None:
            return address, kind
    return None


def target_refusal(*, host: str, port: int) -> str | None:
    """Why a webhook may not go to `host` (translated, for the maker), or None. A name that does not resolve is
    accepted here — it may not exist yet — and checked again at each delivery."""
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return None
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [] if _is_localhost(host) else _resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            addresses = []
    refused = _refused(host, addresses)
    if refused is None:
        return None
    address, kind = refused
    if literal is not None or str(address) == host:
        return _("%(address)s is not a public internet address (%(kind)s); webhooks go only to public "
                 "addresses.") % {"address": address, "kind": _(KINDS[kind])}
    return _("%(host)s resolves to %(address)s, which is not a public internet address (%(kind)s); webhooks go "
             "only to public addresses.") % {"host": host, "address": address, "kind": _(KINDS[kind])}


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to public addresses it resolved and checked itself."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if settings.WEBHOOK_ALLOW_PRIVATE:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        literal = _literal(host)
        try:
            addresses = [literal] if literal is not None else _resolve(host, port)
        except (OSError, UnicodeError, ValueError) as error:
            raise httpcore.ConnectError(f"{host} does not resolve ({error})") from error
        refused = _refused(host, addresses)
        if refused is not None:
            address, kind = refused
            where = str(address) if str(address) == host else f"{host} resolves to {address}, which"
            raise TargetRefused(f"refused: {where} is not a public internet address ({KINDS[kind]}); webhooks go "
                                "only to public addresses")
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:  # each in turn, as socket.create_connection does — but only these
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None  # getaddrinfo never answers with no address
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (TLS, HTTP/1.1, pooling, error mapping) over `GuardedBackend`.

    httpx 0.28 takes no network backend, so its connection pool is replaced by one built the same way with ours
    (developers/tests/test_webhook_targets.py proves deliveries to loopback are refused: a change in httpx shows)."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )
