"""Migrations of the state database."""
