"""Lesson 3's smaller exercises: the quadratic fit, sums of ReLUs, and the lesson workbook."""
