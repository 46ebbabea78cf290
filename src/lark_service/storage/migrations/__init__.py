"""Alembic migration environments: ``config/`` (app registry) and ``state/`` (everything else).

Run them with :mod:`lark_service.storage.migrate`; there is no alembic.ini.
"""
