"""Revisions of the config database, oldest first (``config_0001``, ``config_0002``, ...)."""
