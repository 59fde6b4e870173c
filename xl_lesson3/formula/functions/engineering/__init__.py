"""Engineering functions: conversions, bases, bits, the error function."""
