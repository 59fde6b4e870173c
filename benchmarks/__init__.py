"""Benchmarks of xl-lesson3: `python -m benchmarks [--quick] [--device D] [--out PATH]`.

One module per benchmark, each with `run(config) -> Section`; `report` writes the Markdown and JSON.
"""

__all__: list[str] = []
