"""Information functions."""
