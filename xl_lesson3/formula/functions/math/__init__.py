"""Math & Trig: elementwise math, aggregates, rounding, trigonometry, matrices, conditional sums."""
