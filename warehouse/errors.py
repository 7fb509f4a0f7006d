"""Errors the warehouse raises: one-line messages a CLI can print as they are."""

from __future__ import annotations


class WarehouseError(Exception):
    """Base class of every error the warehouse package raises on purpose."""


class WarehouseBusy(WarehouseError):
    """Another process kept the warehouse locked for longer than we were willing to wait."""


class WarehouseMissing(WarehouseError):
    """A read was asked of a warehouse file that does not exist."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an error message (DuckDB adds hints and context below)."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__
