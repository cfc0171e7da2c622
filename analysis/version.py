"""The version of everything that turns audio into numbers.

Bump RESULTS_VERSION whenever decoding, framing, the log-mel front end, the
model graph or the aggregation change any result: nightly runs then classify
every track again instead of carrying old numbers over.
"""

# 2: embeddings in tracks and frames; 3: confidence and analysed_s;
# 4: the white_noise column, and junk named .au/.snd is not_audio (issue 18).
# 5: the file's tags in tracks (artist ... file_genre), errors with size_bytes, mtime and
# first_run_id (issue 22), and the rhythm column (analysis/rhythm.py, RHYTHM_VERSION 1) for
# user heads (issue 20), and stereo MP3s decoded by FFmpeg (samples within 3.4e-6 of
# libmpg123's; issue 23): a snapshot without them cannot be carried over.
RESULTS_VERSION = "5"
