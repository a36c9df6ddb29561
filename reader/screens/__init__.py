"""The screens: annotate, review, and the modal pickers and help over them."""
