"""Financial functions."""
