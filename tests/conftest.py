"""Shared fixtures: the mock upstreams plugin (the same one users load with -p)."""

pytest_plugins = ["tes_contract.mocks.pytest_fixtures"]
