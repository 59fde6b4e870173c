"""Date & Time functions, and Excel's date serials."""
