"""Public URLs of the badge documents, all served by the gateway under one city.

Every id in an Open Badges document is one of these URLs, so a verifier that
dereferences an id reaches the gateway route that serves the document.
"""


class BadgeUrls:
    """Build the public URLs of one city's badge documents from ``PUBLIC_BASE_URL``."""

    def __init__(self, base_url: str, city: str):
        self.base_url = base_url.rstrip("/")
        self.city = city
        self.root = f"{self.base_url}/v1/cities/{city}"
        self.badges = f"{self.root}/badges"

    def issuer(self, issuer_id: str) -> str:
        return f"{self.badges}/issuers/{issuer_id}"

    def issuer_image(self, issuer_id: str) -> str:
        return f"{self.issuer(issuer_id)}/image"

    def issuer_key(self, issuer_id: str, key_id: str) -> str:
        """Return the URL of the OB 2.0 ``CryptographicKey`` an issuer signs with."""
        return f"{self.issuer(issuer_id)}/keys/{key_id}"

    def revocation_list(self, issuer_id: str) -> str:
        return f"{self.issuer(issuer_id)}/revocations"

    def status_list(self, issuer_id: str, number: int) -> str:
        return f"{self.issuer(issuer_id)}/status-lists/{number}"

    def badge_class(self, class_id: str) -> str:
        return f"{self.badges}/classes/{class_id}"

    def badge_class_version(self, class_id: str, version: int) -> str:
        return f"{self.badge_class(class_id)}/versions/{version}"

    def badge_class_image(self, class_id: str, version: int) -> str:
        return f"{self.badge_class_version(class_id, version)}/image"

    def assertion(self, assertion_id: str) -> str:
        return f"{self.badges}/assertions/{assertion_id}"

    def signed_assertion(self, assertion_id: str) -> str:
        return f"{self.assertion(assertion_id)}/signed"

    def credential(self, assertion_id: str) -> str:
        return f"{self.assertion(assertion_id)}/credential"

    def baked_image(self, assertion_id: str, image_format: str) -> str:
        return f"{self.assertion(assertion_id)}/image.{image_format}"

    def jwks(self) -> str:
        return f"{self.badges}/keys"

    def jwk(self, key_id: str) -> str:
        return f"{self.jwks()}/{key_id}"

    def endorsement(self, endorsement_id: str) -> str:
        return f"{self.badges}/endorsements/{endorsement_id}"

    def youth(self, youth_id: str) -> str:
        return f"{self.root}/youth/{youth_id}"

    def opportunity(self, opportunity_id: str) -> str:
        return f"{self.root}/opportunities/{opportunity_id}"

    def shared_portfolio(self, token: str) -> str:
        return f"{self.root}/portfolios/{token}"

    def learner_record(self, youth_id: str) -> str:
        return f"{self.youth(youth_id)}/record"
