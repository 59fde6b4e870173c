"""Spreadsheet functions, one folder per Excel category; `core` holds the registry and shared rules."""
