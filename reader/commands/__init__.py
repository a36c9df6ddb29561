"""One module per ``reader`` command; each has a ``register(app)`` function."""
