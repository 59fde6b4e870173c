"""Text functions and TEXT's number formats."""
