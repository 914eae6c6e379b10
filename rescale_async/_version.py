"""The package version, written once: the build reads it, the User-Agent carries it."""

__version__ = "0.1.0"
