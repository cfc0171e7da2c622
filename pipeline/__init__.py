"""recogenre's entry points: the Beam pipeline and the command line."""

__version__ = "0.1.0"
