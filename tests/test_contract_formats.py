"""The small shared formats: RFC 3339 with milliseconds, JSON pointers, URL hosts."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tes_contract.contract.formats import json_pointer, now_rfc3339_ms, rfc3339_ms, rfc3339_s, url_host


def test_rfc3339_ms_formats_milliseconds():
    assert rfc3339_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert rfc3339_ms(1_700_000_000_005) == "2023-11-14T22:13:20.005Z"
    assert rfc3339_ms(1_700_000_001_000) == "2023-11-14T22:13:21.000Z"
    assert rfc3339_ms(0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339_s(1_700_000_000) == "2023-11-14T22:13:20Z"


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_rfc3339_ms_matches_the_contract_pattern_and_orders_like_time(epoch_ms: int):
    text = rfc3339_ms(epoch_ms)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", text)
    assert (rfc3339_ms(epoch_ms + 1) > text) or epoch_ms + 1 > 253_402_300_799_999


def test_now_is_current():
    assert now_rfc3339_ms()[:4].isdigit() and now_rfc3339_ms().endswith("Z")


def test_json_pointer_escapes_tilde_and_slash():
    assert json_pointer([]) == ""
    assert json_pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"


def test_url_host_brackets_ipv6_only():
    assert url_host("127.0.0.1") == "127.0.0.1"
    assert url_host("localhost") == "localhost"
    assert url_host("::1") == "[::1]"
    assert url_host("[::1]") == "[::1]"
