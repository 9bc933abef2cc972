"""Attention-based neural machine translation: an LSTM encoder–decoder with Luong attention."""

import os

# TensorFlow's C++ INFO lines (CPU features, oneDNN) on every command are noise for users; its
# warnings and errors, and every Python warning, still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
