"""Train the neural network of an Excel workbook with PyTorch (fast.ai lesson 3).

Layers, top to bottom: the CLI (`xl_lesson3.cli`), the solver (`xl_lesson3.solver`), the formula
engine (`xl_lesson3.formula`), the workbook model (`xl_lesson3.workbook`). The pet-breed half of the
lesson lives in `xl_lesson3.pets` and never imports the formula engine.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
