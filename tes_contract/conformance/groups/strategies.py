"""Hypothesis strategies of the property-based runs: upstream payloads and query strings."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Integers stay within 2**53 and floats are never integral (2.0): JSON parsers of other languages read
# those as integers, and the contract's rule is about the JSON value, not one parser's types.
_SAFE_INT = st.integers(min_value=0, max_value=2**53 - 1)
_FRACTION = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).filter(
    lambda x: not x.is_integer())
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), _FRACTION, st.text(max_size=8))
_JSON = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                     max_leaves=6)
STATUS = st.sampled_from([200, 200, 200, 200, 201, 400, 404, 500, 503])


def worker_bodies() -> st.SearchStrategy[Any]:
    """Worker-status bodies: valid ones with extra fields, and every way `connected` can be wrong."""
    connected = st.one_of(_SAFE_INT, st.integers(0, 20), st.booleans(), st.integers(-10**6, -1), _FRACTION,
                          st.text(max_size=5), st.none())
    extra = st.dictionaries(st.sampled_from(["workers", "version", "note", "connectedAt"]), _JSON, max_size=2)
    with_connected = st.builds(lambda c, e: {**e, "connected": c}, connected, extra)
    return st.one_of(with_connected, with_connected, extra, _JSON)


def tmux_bodies() -> st.SearchStrategy[Any]:
    """Tmux-status bodies: valid ones (sessions of any shape: only their number counts) and corrupted ones."""
    sessions = st.one_of(st.lists(_JSON, max_size=6), st.dictionaries(st.text(max_size=4), _JSON, max_size=2),
                         _SCALAR)
    online = st.one_of(st.booleans(), st.booleans(), _SCALAR)
    extra = st.dictionaries(st.sampled_from(["error", "host", "version"]), _JSON, max_size=2)
    full = st.builds(lambda o, s, e: {**e, "online": o, "sessions": s}, online, sessions, extra)
    partial = st.builds(lambda o, e: {**e, "online": o}, online, extra)
    return st.one_of(full, full, full, partial, _JSON)


#: Query strings the status endpoint must ignore (STATUS-HTTP-3).
QUERY = st.dictionaries(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8),
                        st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=12), max_size=3)
