"""Lookup & Reference, including the dynamic-array functions Excel files there."""
