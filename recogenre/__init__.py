"""recogenre: offline music-genre tagging for whole catalogues.

The repository keeps ``pipeline/``, ``transforms/`` and ``apps/`` at its top;
installed, they are ``recogenre.pipeline``, ``recogenre.transforms`` and
``recogenre.apps`` (see ``setup.py``), so no generic top-level name reaches a
user's environment.
"""
