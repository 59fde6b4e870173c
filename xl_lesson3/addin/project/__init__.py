"""The xlwings Server project of the add-in: the folder `XLWINGS_PROJECT_DIR` points at.

xlwings Server imports ``custom_functions`` and ``custom_scripts`` from here as top-level
modules, and looks here first for ``templates/`` (manifest, task pane) and ``static/`` (the
ribbon script). Start it with ``xl-lesson3 addin serve``, which sets the environment first.
"""
