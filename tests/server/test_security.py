"""The Origin and Host allow-lists (DEV-ORIGIN, DEV-HOST), as pure functions."""

from __future__ import annotations

import pytest

from tes_contract.server.security import (
    allowed_hosts,
    allowed_origins,
    host_allowed,
    host_name,
    origin_allowed,
)
from tes_contract.server.settings import Settings


def test_default_origins_are_the_servers_own_on_its_port():
    allowed = allowed_origins(Settings(), 3002)
    assert allowed == {"http://localhost:3002", "http://127.0.0.1:3002", "http://[::1]:3002"}
    assert origin_allowed(None, allowed)  # not a browser's request: judged by the token alone
    assert origin_allowed("http://127.0.0.1:3002", allowed) and origin_allowed("HTTP://LOCALHOST:3002", allowed)


@pytest.mark.parametrize("origin", ["null", "http://127.0.0.1.evil.example", "http://127.0.0.1:3003",
                                    "https://127.0.0.1:3002", "http://evil.example", "http://localhost",
                                    "http://localhost:3002.evil.example", ""])
def test_foreign_and_look_alike_origins_are_refused(origin: str):
    assert not origin_allowed(origin, allowed_origins(Settings(), 3002))


def test_configured_origins_replace_the_default():
    allowed = allowed_origins(Settings(allowed_origins=("https://Dev.Example",)), 3002)
    assert origin_allowed("https://dev.example", allowed) and not origin_allowed("http://localhost:3002", allowed)


@pytest.mark.parametrize(("header", "name"), [("localhost:3002", "localhost"), ("[::1]:3002", "[::1]"),
                                              ("[::1]", "[::1]"), ("EXAMPLE.org", "example.org"),
                                              ("127.0.0.1", "127.0.0.1")])
def test_host_name_drops_the_port(header: str, name: str):
    assert host_name(header) == name


def test_default_hosts_are_loopback_and_the_bind_host():
    allowed = allowed_hosts(Settings(host="0.0.0.0"))
    assert allowed == {"localhost", "127.0.0.1", "[::1]", "0.0.0.0"}
    assert host_allowed("localhost:3002", allowed) and host_allowed("[::1]:9", allowed)
    for foreign in ("evil.example", "localhost.evil.example", "127.0.0.1.nip.io", None, ""):
        assert not host_allowed(foreign, allowed)
    assert allowed_hosts(Settings(host="::1")) >= {"[::1]"}
    assert allowed_hosts(Settings(allowed_hosts=("dev.example:80",))) == {"dev.example"}
