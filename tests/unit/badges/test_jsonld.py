"""Open Badges 3.0 credentials as JSON-LD: every term must map to an IRI.

Each badge is issued through the service's own entrypoints on the real
``BadgeStore`` over mongomock: completions with and without evidence, a staff
award with evidence, a peer assessment, alignments, tags and an expiry, a
playlist badge and a revoked badge. Each credential is then expanded with pyld and the vendored contexts.
"""

from unittest import mock

import mongomock
import pytest
from nameko.testing.services import worker_factory
from pyld.jsonld import JsonLdError

from services.badges import jsonld, ob3
from services.badges.service import BadgesService
from services.badges.storage import BadgeStore
from services.badges.verify import split_compact
from tests.unit.badges.conftest import BASE_URL, COMPLETION
from tests.unit.badges.fakes import PASSPHRASE

OB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
CRED = "https://www.w3.org/2018/credentials#"
ISSUER = {
    "id": "org-maker-lab",
    "name": "Maker Lab",
    "kind": "partner",
    "url": "https://makerlab.example.org",
    "email": "badges@makerlab.example.org",
    "description": "A maker space in the library",
}
CLASS = {
    "id": "bc-circuits",
    "issuer_id": "org-maker-lab",
    "name": "Circuit Builder",
    "description": "Designs, builds and explains a working circuit.",
    "criteria": {
        "narrative": "Build a circuit and explain it to a peer.",
        "url": "https://makerlab.example.org/criteria/circuits",
    },
    "alignments": [
        {
            "target_name": "Electrical circuits",
            "target_url": "https://www.nextgenscience.org/pe/4-ps3-2",
            "target_description": "Energy transfer in circuits",
            "target_framework": "NGSS",
            "target_code": "4-PS3-2",
        }
    ],
    "tags": ["stem", "making"],
    "valid_days": 730,
}
AWARD = {
    "badge_class_id": "bc-circuits",
    "youth_id": "yth-2",
    "opportunity_id": "opp-9",
    "award_id": "award-1",
    "awarded_by": {"name": "Ms Rivera", "role": "Studio lead"},
    "narrative": "Built a working circuit.",
    "evidence": [
        {
            "url": "https://portfolio.example.org/yth-2/circuit",
            "name": "Circuit photo",
            "description": "The finished circuit",
            "narrative": "Wired and tested",
        }
    ],
    "peer_assessments": [
        {"assessor_name": "Jo", "narrative": "Explained it clearly", "rating": 5}
    ],
}


@pytest.fixture
def service():
    store = BadgeStore(mongomock.MongoClient().badges, PASSPHRASE)
    store.ensure_indexes()
    store.cities.add({"slug": "chicago", "name": "Chicago"})
    worker = worker_factory(
        BadgesService, store=store, config={"PUBLIC_BASE_URL": BASE_URL}
    )
    worker.tenant = mock.Mock(city="chicago")
    return worker


@pytest.fixture
def issued_credentials(service):
    """Issue badges of every kind, revoke one, and return each credential payload."""
    issuance = service.issuance("chicago")
    issuance.on_completion(dict(COMPLETION))
    issuance.on_completion(
        {**COMPLETION, "completion_id": "cmp-2", "opportunity_id": "opp-2",
         "evidence_url": None}
    )
    service.save_issuer(ISSUER)
    service.create_badge_class(CLASS)
    awarded = service.award_badge(AWARD)
    service.create_playlist(
        {"name": "Explorer", "description": "Two clubs",
         "opportunity_ids": ["opp-1", "opp-2"]}
    )
    service.revoke_badge(awarded["assertion_id"], {"reason": "Awarded in error"})
    hosting = service.hosting("chicago")
    assertions = list(service.store.assertions.find({"city": "chicago"}))
    assert len(assertions) == 4
    return [
        split_compact(hosting.credential(document["_id"].split("/", 1)[1]))[1]
        for document in assertions
    ]


def test_every_issued_credential_expands(issued_credentials):
    for credential in issued_credentials:
        expanded = jsonld.expand_vc_jwt_payload(credential)
        assert len(expanded) == 1
        assert OB + "OpenBadgeCredential" in expanded[0]["@type"]


def test_expanded_credential_keeps_properties(issued_credentials):
    awarded = next(
        item for item in issued_credentials if item["name"] == "Circuit Builder"
    )
    node = jsonld.expand_vc_jwt_payload(awarded)[0]
    subject = node[CRED + "credentialSubject"][0]
    achievement = subject[OB + "achievement"][0]
    assert achievement["https://schema.org/keywords"] == [
        {"@value": "stem"}, {"@value": "making"}
    ]
    assert OB + "alignment" in achievement
    assert subject[OB + "identifier"][0][OB + "identityHash"]
    genres = [
        item.get("https://schema.org/genre") for item in node[CRED + "evidence"]
    ]
    assert [{"@value": "Peer assessment"}] in genres
    assert CRED + "credentialStatus" in node
    assert CRED + "validUntil" in node


def test_status_list_credential_expands(service, issued_credentials):
    token = service.hosting("chicago").status_list("org-maker-lab", 0)
    expanded = jsonld.expand_vc_jwt_payload(split_compact(token)[1])
    assert CRED + "VerifiableCredential" in expanded[0]["@type"]


@pytest.mark.parametrize(
    "path, term",
    [
        ((), "favouriteColour"),
        (("credentialSubject",), "nickname"),
        (("credentialSubject", "achievement"), "difficulty"),
    ],
)
def test_unmapped_term_rejected(issued_credentials, path, term):
    credential = issued_credentials[0]
    node = credential
    for key in path:
        node = node[key]
    node[term] = "anything"
    with pytest.raises(jsonld.JsonLdInvalid) as caught:
        jsonld.expand_vc_jwt_payload(credential)
    assert caught.value.problems == [f"the term {term!r} maps to no IRI"]


def test_unmapped_type_rejected(issued_credentials):
    credential = issued_credentials[0]
    credential["credentialSubject"]["type"] = ["AchievementSubject", "Learner"]
    with pytest.raises(jsonld.JsonLdInvalid) as caught:
        jsonld.expand_vc_jwt_payload(credential)
    assert caught.value.problems == [
        "the @type 'Learner' at $[0].https://www.w3.org/2018/credentials"
        "#credentialSubject[0] is not an absolute IRI"
    ]


def test_relative_id_rejected(issued_credentials):
    credential = {**issued_credentials[0], "id": "credential-1"}
    credential.pop("jti")
    with pytest.raises(jsonld.JsonLdInvalid, match="'credential-1'"):
        jsonld.expand(credential)


def test_jwt_id_claim_dropped_by_plain_expansion(issued_credentials):
    assert issued_credentials[0]["jti"] == issued_credentials[0]["id"]
    with pytest.raises(jsonld.JsonLdInvalid, match="'jti'"):
        jsonld.expand(issued_credentials[0])


def test_jwt_id_claim_must_match_id(issued_credentials):
    credential = {**issued_credentials[0], "jti": "urn:uuid:another"}
    with pytest.raises(jsonld.JsonLdInvalid, match="'jti' differs"):
        jsonld.expand_vc_jwt_payload(credential)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/2018/credentials/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "http://127.0.0.1:9/context.json",
    ],
)
def test_loader_refuses_other_contexts(url):
    with pytest.raises(JsonLdError, match="is not vendored"):
        jsonld.document_loader(url)
    with pytest.raises(JsonLdError):
        jsonld.expand({"@context": [url], "name": "x"})


def test_loader_serves_vendored_contexts():
    for url in (ob3.VC2_CONTEXT, ob3.OB3_CONTEXT):
        remote = jsonld.document_loader(url)
        assert remote["documentUrl"] == url
        assert remote["document"]["@context"]["@protected"] is True
