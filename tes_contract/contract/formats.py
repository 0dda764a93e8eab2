"""Small formats every layer writes the same way: RFC 3339 timestamps, JSON pointers, URL hosts."""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=8)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def rfc3339_ms(epoch_ms: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.sssZ` of milliseconds since the epoch (STATUS-FIELD-TIMESTAMP's format).

    The date-and-time part is formatted once a second (cached), so a server can stamp every answer.
    """
    seconds, ms = divmod(epoch_ms, 1000)
    return f"{_second(seconds)}.{ms:03d}Z"


def now_rfc3339_ms() -> str:
    """The wall clock now, as `rfc3339_ms`."""
    return rfc3339_ms(time.time_ns() // 1_000_000)


def rfc3339_s(epoch_s: int) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` of whole seconds since the epoch (tmux's session creation times)."""
    return f"{_second(epoch_s)}Z"


def json_pointer(path: Iterable[object]) -> str:
    """The RFC 6901 pointer of a path of keys and indexes (`~` and `/` escaped)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def url_host(host: str) -> str:
    """The host as it goes in a URL: an IPv6 address in brackets, anything else as it is."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
