"""The reader-annotator's terminal UI and its ``reader`` command line."""
