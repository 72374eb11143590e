"""Errors of the identity service; callers receive them through nameko's registry."""

from cities_common.errors import (
    CityArchived, Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated,
    UnknownCity,
)

# Caller errors: logged as warnings and counted as ``error``, not ``failure``.
EXPECTED = (CityArchived, Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated,
            UnknownCity)
