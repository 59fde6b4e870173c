"""Logical functions."""
