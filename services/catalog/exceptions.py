"""Errors of the catalog service; callers receive them through nameko's registry."""

from cities_common.errors import (
    CityArchived, Conflict, Forbidden, InvalidInput, NotFound, UnknownCity,
)

__all__ = ["CityArchived", "Conflict", "EXPECTED", "Forbidden", "InvalidInput",
           "NotFound", "UnknownCity"]

# Caller errors: logged as warnings and counted as ``error``, not ``failure``.
EXPECTED = (CityArchived, Conflict, Forbidden, InvalidInput, NotFound, UnknownCity)
