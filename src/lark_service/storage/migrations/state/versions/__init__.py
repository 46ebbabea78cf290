"""Revisions of the state database, oldest first (``state_0001``, ``state_0002``, ...)."""
