"""Where webhooks may go: https to public addresses, or anything on the development allow list.

Checked twice: when a subscription is created (the URL and what its host resolves to then) and
when each delivery connects (what the host resolves to now; the connection goes to the very
address checked, so a name that changes its answer in between cannot reach an internal host).
Refusal reasons are safe to show a marketplace: they never say what an internal address is.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]
"""``resolve(host, port)`` -> the IP addresses (as text) the host name stands for."""

DNS_TIMEOUT_S = 2.0
# Never delegated in the DNS (RFC 2606, RFC 6761): a lookup can only fail, so none is made.
_NEVER_RESOLVES = ("example", "invalid")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(Exception):
    """A webhook destination the rules refuse; ``str()`` is the reason, safe to show."""


class HostNotFound(Exception):
    """The host name does not resolve (now)."""


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the operating system's resolver gives for ``host``, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_allow_hosts(text: str | Iterable[str]) -> frozenset[str]:
    """The allow list from ``SELPO_WEBHOOK_ALLOW_HOSTS`` (comma-separated names or IPs)."""
    items = text.split(",") if isinstance(text, str) else text
    return frozenset(_normal_host(item) for item in items if item.strip())


def _normal_host(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def is_allowed_host(host: str, allow_hosts: frozenset[str]) -> bool:
    """Whether the host is on the development allow list (http and any address permitted)."""
    return _normal_host(host) in allow_hosts


def address_refusal(address: str) -> str | None:
    """Why a webhook may not connect to this IP address, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "the host resolves to something that is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is not None:
            return address_refusal(str(embedded))
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
        or not ip.is_global
    ):
        return "the host resolves to a loopback, private, link-local or reserved address"
    return None


def check_addresses(addresses: Iterable[str]) -> None:
    """Refuse unless every address is public (one bad answer among several is enough)."""
    for address in addresses:
        reason = address_refusal(address)
        if reason is not None:
            raise DestinationRefused(reason)


def check_url(url: str, *, allow_hosts: frozenset[str]) -> str:
    """The URL's host once its scheme and form pass the rules; raises ``DestinationRefused``.

    Only the form: what the host resolves to is checked by ``check_destination``.
    """
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise DestinationRefused("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not hostname or any(c.isspace() for c in url):
        raise DestinationRefused("the webhook URL must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("the webhook URL must not carry a user name or password")
    if parts.scheme == "http" and not is_allowed_host(hostname, allow_hosts):
        raise DestinationRefused("the webhook URL must use https")
    return hostname


def resolve_within(
    host: str, port: int, *, resolve: Resolver = system_resolve, timeout_s: float = DNS_TIMEOUT_S
) -> list[str]:
    """Resolve with a bound on the wait (the system resolver has none); raises ``HostNotFound``."""
    name = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(name.split("%", 1)[0]))]  # a literal: nothing to look up
    except ValueError:
        pass
    labels = name.rstrip(".").lower().split(".")
    if labels[-1] == "localhost":
        return ["127.0.0.1"]  # RFC 6761: localhost names are loopback, whatever DNS says
    if labels[-1] in _NEVER_RESOLVES:
        raise HostNotFound(host)
    found: list[str] = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            found.extend(resolve(name, port))
        except Exception as exc:  # any resolver failure means "not found"
            failure.append(exc)

    thread = threading.Thread(target=lookup, name="selpo-dns", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive() or failure or not found:
        raise HostNotFound(host)
    return found


def check_destination(
    url: str,
    *,
    allow_hosts: frozenset[str],
    resolve: Resolver = system_resolve,
    timeout_s: float = DNS_TIMEOUT_S,
) -> None:
    """Refuse a webhook URL whose form or current addresses break the rules (registration).

    A public name that does not resolve (yet) passes: every delivery checks again.
    """
    host = check_url(url, allow_hosts=allow_hosts)
    if is_allowed_host(host, allow_hosts):
        return
    port = urlsplit(url).port or 443
    try:
        addresses = resolve_within(host, port, resolve=resolve, timeout_s=timeout_s)
    except HostNotFound:
        return
    check_addresses(addresses)
