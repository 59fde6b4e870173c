"""The formula engine: parse → plan → compile → run.

`parse` and `plan` never import torch; `compile` turns a plan into torch calls; `evaluate` and the
solver run the compiled program.
"""
