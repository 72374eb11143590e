"""Errors of the catalog service; callers receive them through nameko's registry."""

from cities_common.errors import Conflict, InvalidInput, NotFound, UnknownCity

__all__ = ["Conflict", "InvalidInput", "NotFound", "UnknownCity"]
