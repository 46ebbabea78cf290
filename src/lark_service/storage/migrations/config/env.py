"""Alembic environment of the config database; see :mod:`lark_service.storage.migrate`."""

from lark_service.storage.migrate import run_env

run_env("config")
