"""The version of everything that turns audio into numbers.

Bump RESULTS_VERSION whenever decoding, framing, the log-mel front end, the
model graph or the aggregation change any result: nightly runs then classify
every track again instead of carrying old numbers over.
"""

# 2: embeddings in tracks and frames; 3: confidence and analysed_s;
# 4: the white_noise column, and junk named .au/.snd is not_audio (issue 18).
# 5: MP3s decoded by FFmpeg's mp3float instead of libmpg123 (samples within 1e-5; issue 23).
RESULTS_VERSION = "5"
