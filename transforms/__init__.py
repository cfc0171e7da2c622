"""Core of recogenre: audio decoding, log-mel frames, the CRNN and aggregation.

Everything here is plain Python and NumPy/Keras so the same code serves the
Beam pipeline, the single-track classifier and the HTTP service.
"""
