"""One module per chapter of the book: its configs for quick and full mode, its tables and its
chapter-only analysis. ``standard`` holds the runs several chapters share and ``phases`` the
guessing game's phase labels. The core never imports this package; a chapter module imports
the core and at most ``standard`` and ``phases``.
"""
