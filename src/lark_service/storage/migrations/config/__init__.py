"""Migrations of the config database."""
