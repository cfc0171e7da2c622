"""The published GTZAN CRNN weights, installed as package data (``recogenre/weights/``).

A data folder, not code: ``analysis/weights.py`` finds the file through
``importlib.resources`` whether recogenre runs from a checkout or a wheel.
"""
