"""Import public programme and site data into catalog documents.

``load_source`` reads one mapping file from ``data/mappings/`` and the source
files it names, and returns an ``ImportResult``: opportunity or organisation
documents, the rejected rows with a reason each, and warnings for rows that
were repaired. Nothing here touches a database or the network.
"""

from .exceptions import ImportingError, MappingError, SourceFileError
from .geo import BBox, compute_bbox
from .model import ImportResult, Rejection, RowWarning
from .pipeline import load_all, load_source

__all__ = [
    "BBox",
    "ImportResult",
    "ImportingError",
    "MappingError",
    "Rejection",
    "RowWarning",
    "SourceFileError",
    "compute_bbox",
    "load_all",
    "load_source",
]
