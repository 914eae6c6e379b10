"""The command-line layer: the demo now; the ``rescale-async`` commands grow here."""
