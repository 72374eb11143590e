"""JSON-LD expansion of Open Badges 3.0 credentials with vendored contexts only.

``expand`` runs pyld's expansion with a document loader that serves the copies
in ``contexts/`` (see ``contexts/PROVENANCE.md``) and rejects every other URL,
so nothing is fetched from the network. It rejects a document with a term that
no context maps to an IRI, which plain expansion drops without a word, and an
``id`` or ``type`` that is no absolute IRI, which it resolves against a
placeholder base.
"""

import json
from functools import cache
from pathlib import Path

from pyld import jsonld
from pyld.jsonld import JsonLdError

from services.badges.ob3 import OB3_CONTEXT, VC2_CONTEXT

CONTEXT_DIRECTORY = Path(__file__).with_name("contexts")
CONTEXT_FILES = {
    VC2_CONTEXT: "credentials-v2.jsonld",
    OB3_CONTEXT: "ob-context-3.0.3.json",
}
KEYWORDS_WITH_IRIS = ("@id", "@type")
# JWT claims of a VC-JWT payload that the vendored contexts do not map. The OB
# 3.0 verifier of openbadgeslib 4.6 rejects a token without ``jti`` equal to the
# credential's ``id``. The VC 2.0 context maps ``iss``, ``nbf`` and ``exp``, so
# those are checked like any other term.
JWT_ONLY_CLAIMS = ("jti",)


class JsonLdInvalid(Exception):
    """A document is not valid JSON-LD under the vendored contexts."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@cache
def _context_text(filename: str) -> str:
    return (CONTEXT_DIRECTORY / filename).read_text()


def document_loader(url: str, options=None) -> dict:
    """Return a vendored context as a pyld remote document; raise for any other URL."""
    filename = CONTEXT_FILES.get(url)
    if filename is None:
        raise JsonLdError(
            f"the context {url} is not vendored: only "
            f"{', '.join(sorted(CONTEXT_FILES))} are available offline",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(_context_text(filename)),
    }


def expand(document: dict) -> list:
    """Expand ``document``; raise ``JsonLdInvalid`` listing every unmapped term.

    Raises pyld's ``JsonLdError`` when the document names a context that is
    not vendored or is not JSON-LD at all.
    """
    dropped: list[str] = []
    expanded = jsonld.expand(
        document,
        {"documentLoader": document_loader},
        on_property_dropped=lambda term: dropped.append(str(term)),
    )
    problems = [f"the term {term!r} maps to no IRI" for term in dropped]
    problems += [
        f"the {key} {value!r} at {path} is not an absolute IRI"
        for path, key, value in _relative_iris(expanded, "$")
    ]
    if problems:
        raise JsonLdInvalid(problems)
    return expanded


def expand_vc_jwt_payload(payload: dict) -> list:
    """Expand the credential a VC-JWT payload carries, without its JWT-only claims.

    Raises ``JsonLdInvalid`` when ``jti`` differs from the credential's ``id``,
    because the claim would then contradict the credential.
    """
    credential = dict(payload)
    for claim in JWT_ONLY_CLAIMS:
        if claim in credential and credential.pop(claim) != payload.get("id"):
            raise JsonLdInvalid([f"the JWT claim {claim!r} differs from the id"])
    return expand(credential)


def _relative_iris(node, path: str):
    """Yield (path, keyword, value) of each ``@id`` or ``@type`` that is no IRI.

    pyld resolves a relative IRI against ``DEFAULT_BASE_IRI`` when the document
    has no base, so a value under it was relative in the document.
    """
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _relative_iris(item, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in KEYWORDS_WITH_IRIS and "@value" not in node:
            for item in value if isinstance(value, list) else [value]:
                if not _is_absolute_iri(item):
                    yield path, key, _relative_part(item)
        elif not key.startswith("@") or key in ("@graph", "@list", "@set"):
            yield from _relative_iris(value, f"{path}.{key}")


def _is_absolute_iri(value) -> bool:
    return (
        isinstance(value, str)
        and ":" in value
        and not value.startswith((":", jsonld.DEFAULT_BASE_IRI))
    )


def _relative_part(value):
    if isinstance(value, str):
        return value.removeprefix(jsonld.DEFAULT_BASE_IRI)
    return value
