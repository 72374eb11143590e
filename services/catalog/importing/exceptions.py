"""Errors that stop a whole import, as opposed to rejecting single rows."""


class ImportingError(Exception):
    """Base class for errors of the import package."""


class MappingError(ImportingError):
    """A mapping file is missing a key, names an unknown value or is malformed."""


class SourceFileError(ImportingError):
    """A source file is missing, unreadable or lacks a column the mapping names."""
