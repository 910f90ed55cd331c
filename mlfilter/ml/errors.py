"""The ML core's own exception, in a module of its own so callers can catch it without loading the models."""


class ModelFormatError(Exception):
    """The directory does not hold a model this code can load safely (version, features, files)."""
