"""Hostile and clumsy servers under test: wrappers around the independent servers that misbehave."""
