"""Verify an Open Badge the way a third party would, through the public URLs.

Accepts a baked PNG or SVG, an OB 2.0 assertion (hosted JSON, its URL, or a
signed JWS), an OB 3.0 VC-JWT, or a learner record VC-JWT. Every key, badge
class, issuer profile, revocation list and status list is fetched over HTTP
from the platform's public base URL; nothing is read from the database. Only
URLs under that base URL are fetched, so a document cannot make the verifier
request another host, and a badge issued elsewhere is reported as not
verifiable here.

    python -m services.badges.verify [--base-url URL] [--recipient ID] FILE

prints a JSON report and exits 0 when the badge is valid, 1 when it is not and
2 when the input cannot be read.
"""

import argparse
import base64
import binascii
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey, RSAKey

from services.badges import images, ob2, ob3
from services.badges.statuslist import decode_list, is_set

MAX_DOCUMENT_BYTES = 1024 * 1024
CLOCK_SKEW = timedelta(minutes=5)
BADGE_CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
ENVELOPE_PREFIX = f"data:{ob3.VC_JWT_MEDIA_TYPE},"


class VerificationFailed(Exception):
    """One check failed: ``check`` names it and ``reason`` gives the cause."""

    def __init__(self, check: str, reason: str):
        super().__init__(f"{check}: {reason}")
        self.check = check
        self.reason = reason


@dataclass
class Report:
    """The outcome of one verification, with every check that ran."""

    standard: str = "unknown"
    checks: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    failure: VerificationFailed | None = None

    def passed(self, check: str, detail: str) -> None:
        self.checks.append({"check": check, "passed": True, "detail": detail})

    def to_dict(self) -> dict:
        checks = list(self.checks)
        if self.failure is not None:
            checks.append(
                {
                    "check": self.failure.check,
                    "passed": False,
                    "detail": self.failure.reason,
                }
            )
        return {
            "valid": self.failure is None,
            "reason": self.failure.reason if self.failure else "all checks passed",
            "failed_check": self.failure.check if self.failure else None,
            "standard": self.standard,
            "checks": checks,
            **self.details,
        }


def _b64url_json(segment: str, what: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise VerificationFailed("format", f"the {what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise VerificationFailed("format", f"the {what} is not a JSON object")
    return value


def split_compact(token: str) -> tuple[dict, dict]:
    """Return the unverified (header, payload) of a compact JWS."""
    parts = token.split(".")
    if len(parts) != 3:
        raise VerificationFailed(
            "format", "a compact JWS has three dot-separated parts"
        )
    return _b64url_json(parts[0], "JWS header"), _b64url_json(parts[1], "JWS payload")


def parse_time(value, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise VerificationFailed(
            "format", f"{what} {value!r} is not an ISO 8601 date-time"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _types(document: dict) -> set[str]:
    value = document.get("type", [])
    return (
        {value}
        if isinstance(value, str)
        else {item for item in value if isinstance(item, str)}
    )


def reject_revoked_key(key_url: str, revoked, reason) -> None:
    """Fail the ``key`` check when the key document declares the key revoked.

    The issuer revokes a key it believes compromised, so no signature made with
    it is trusted, whenever it was made. A retired key carries no such mark.
    """
    if revoked:
        raise VerificationFailed(
            "key",
            f"the signing key {key_url} was revoked on {revoked} "
            f"({reason or 'no reason given'}), so its signatures are not trusted",
        )


def _city_prefix(url: str, base_url: str) -> str | None:
    """Return ``<base>/v1/cities/<city>/`` for a URL under it, else ``None``."""
    rest = url[len(base_url) :] if url.startswith(base_url + "/") else None
    parts = (rest or "").split("/")
    if len(parts) < 4 or parts[1:3] != ["v1", "cities"] or not parts[3]:
        return None
    return f"{base_url}/v1/cities/{parts[3]}/"


class Fetcher:
    """GET JSON and tokens from URLs under one base URL, with no redirects."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def trusted(self, url) -> bool:
        return isinstance(url, str) and url.startswith(self.base_url + "/")

    def get(self, url: str, check: str) -> bytes:
        """Return the body of a 200 response; raise ``VerificationFailed`` otherwise."""
        if not self.trusted(url):
            raise VerificationFailed(
                check,
                f"{str(url)[:200]!r} is not under "
                f"{self.base_url}; only badges this "
                "platform issued can be verified here",
            )
        chunks, size = [], 0
        try:
            with self.session.get(
                url, timeout=self.timeout, allow_redirects=False, stream=True
            ) as response:
                status = response.status_code
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > MAX_DOCUMENT_BYTES:
                        raise VerificationFailed(
                            check,
                            f"{url} returned more than {MAX_DOCUMENT_BYTES} bytes",
                        )
                    chunks.append(chunk)
        except requests.RequestException as exc:
            raise VerificationFailed(check, f"fetching {url} failed: {exc}") from exc
        if status != 200:
            raise VerificationFailed(check, f"{url} returned HTTP {status}")
        return b"".join(chunks)

    def json(self, url: str, check: str) -> dict:
        try:
            value = json.loads(self.get(url, check))
        except ValueError as exc:
            raise VerificationFailed(check, f"{url} did not return JSON") from exc
        if not isinstance(value, dict):
            raise VerificationFailed(check, f"{url} did not return a JSON object")
        return value

    def text(self, url: str, check: str) -> str:
        try:
            return self.get(url, check).decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise VerificationFailed(check, f"{url} did not return UTF-8 text") from exc


class Verifier:
    """Verify badges issued under ``base_url`` (see the module docstring)."""

    def __init__(
        self, base_url: str, fetcher: Fetcher | None = None, now: datetime | None = None
    ):
        self.fetcher = fetcher or Fetcher(base_url)
        self.base_url = self.fetcher.base_url
        self.now = now or datetime.now(timezone.utc)

    # Entry points ------------------------------------------------------------

    def verify(self, data, expected_recipient: str | None = None) -> dict:
        """Verify an image (bytes), a token or URL (str) or a JSON document (dict)."""
        report = Report()
        try:
            self._dispatch(report, data, expected_recipient)
        except VerificationFailed as failure:
            report.failure = failure
        return report.to_dict()

    def _dispatch(self, report: Report, data, expected_recipient) -> None:
        hint = None
        if isinstance(data, (bytes, bytearray)):
            data = bytes(data)
            if images.image_type(data) is not None:
                try:
                    hint, data = images.unbake(data)
                except images.ImageError as exc:
                    raise VerificationFailed("baked_image", str(exc)) from exc
                report.passed(
                    "baked_image", f"found an {hint.upper()} badge in the image"
                )
            else:
                try:
                    data = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise VerificationFailed(
                        "format", "the input is neither an image nor UTF-8 text"
                    ) from exc
        if isinstance(data, str):
            data = data.strip()
            if data.startswith("{"):
                try:
                    data = json.loads(data)
                except ValueError as exc:
                    raise VerificationFailed(
                        "format", f"the input is not valid JSON ({exc})"
                    ) from exc
        if isinstance(data, dict):
            self._verify_json(report, data, expected_recipient)
        elif isinstance(data, str) and data.startswith(("http://", "https://")):
            self._verify_ob2_hosted(report, None, data, expected_recipient)
        elif isinstance(data, str) and data.count(".") == 2:
            self._verify_compact(report, data, hint, expected_recipient)
        else:
            raise VerificationFailed(
                "format",
                "the input is not an image, a JSON assertion, a URL, a JWS or a VC-JWT",
            )

    def _verify_json(self, report: Report, document: dict, expected_recipient) -> None:
        if "VerifiableCredential" in _types(document):
            raise VerificationFailed(
                "format",
                "a credential without its JWT proof cannot be verified; "
                "submit the VC-JWT from the credential URL instead",
            )
        if "Assertion" not in _types(document):
            raise VerificationFailed(
                "format", "the JSON document is not an Open Badges Assertion"
            )
        self._verify_ob2_hosted(
            report, document, document.get("id"), expected_recipient
        )

    def _verify_compact(
        self, report: Report, token: str, hint, expected_recipient
    ) -> None:
        header, payload = split_compact(token)
        if "VerifiableCredential" in _types(payload):
            self._verify_vc_jwt(report, token, header, payload, expected_recipient)
        else:
            self._verify_ob2_signed(report, token, header, payload, expected_recipient)

    # OB 2.0 --------------------------------------------------------------------

    def _verify_ob2_hosted(
        self, report: Report, presented: dict | None, url, expected_recipient
    ) -> None:
        report.standard = "ob2-hosted"
        hosted = self.fetcher.json(url, "hosted_assertion")
        if (
            "Assertion" not in _types(hosted)
            or hosted.get("@context") != ob2.OB2_CONTEXT
        ):
            raise VerificationFailed(
                "hosted_assertion", f"{url} is not an Open Badges 2.0 Assertion"
            )
        if hosted.get("id") != url:
            raise VerificationFailed(
                "hosted_assertion",
                f"the document at {url} has the id {hosted.get('id')!r}",
            )
        if presented is not None:
            for key in ("recipient", "badge", "issuedOn", "expires"):
                if presented.get(key) != hosted.get(key):
                    raise VerificationFailed(
                        "hosted_assertion",
                        f"the presented assertion differs from the "
                        f"issuer's hosted copy in {key!r}",
                    )
        report.passed("hosted_assertion", f"fetched {url}")
        verification = (hosted.get("verification") or {}).get("type")
        if verification not in (ob2.HOSTED, "hosted"):
            raise VerificationFailed(
                "hosted_assertion",
                "the hosted assertion does not declare hosted verification",
            )
        issuer = self._ob2_badge_and_issuer(report, hosted)
        if not url.startswith(_city_prefix(issuer["id"], self.base_url) or "\0"):
            raise VerificationFailed(
                "issuer", "the assertion is not hosted under its issuer's city"
            )
        if hosted.get("revoked"):
            raise VerificationFailed(
                "revocation",
                "revoked by the issuer: "
                + (hosted.get("revocationReason") or "no reason given"),
            )
        self._ob2_common(report, hosted, issuer, expected_recipient)

    def _verify_ob2_signed(
        self,
        report: Report,
        token: str,
        header: dict,
        payload: dict,
        expected_recipient,
    ) -> None:
        report.standard = "ob2-signed"
        if header.get("alg") != "RS256":
            raise VerificationFailed(
                "signature", f"algorithm {header.get('alg')!r} is not RS256"
            )
        verification = payload.get("verification") or {}
        if verification.get("type") not in (ob2.SIGNED, "signed"):
            raise VerificationFailed(
                "format", "the JWS payload is not a signed Open Badges 2.0 assertion"
            )
        creator = verification.get("creator")
        key_document = self.fetcher.json(creator, "key")
        if (
            "CryptographicKey" not in _types(key_document)
            or key_document.get("id") != creator
        ):
            raise VerificationFailed("key", f"{creator} is not a CryptographicKey")
        reject_revoked_key(
            creator, key_document.get("revoked"), key_document.get("revocationReason")
        )
        try:
            key = RSAKey.import_key(key_document["publicKeyPem"])
            jws.deserialize_compact(token, key, algorithms=["RS256"])
        except (KeyError, ValueError, JoseError) as exc:
            raise VerificationFailed(
                "signature", f"the signature does not match the issuer's key {creator}"
            ) from exc
        report.passed("signature", f"RS256 signature verified with {creator}")
        issuer = self._ob2_badge_and_issuer(report, payload)
        if (
            creator not in issuer.get("publicKey", [])
            or key_document.get("owner") != issuer["id"]
        ):
            raise VerificationFailed(
                "key", f"the key {creator} does not belong to the issuer {issuer['id']}"
            )
        report.passed("key", "the signing key is listed in the issuer profile")
        self._ob2_common(report, payload, issuer, expected_recipient)

    def _ob2_badge_and_issuer(self, report: Report, assertion: dict) -> dict:
        badge = self.fetcher.json(assertion.get("badge"), "badge_class")
        if "BadgeClass" not in _types(badge):
            raise VerificationFailed(
                "badge_class", f"{assertion.get('badge')} is not a BadgeClass"
            )
        report.passed("badge_class", f"badge class {badge.get('name')!r}")
        issuer = self.fetcher.json(badge.get("issuer"), "issuer")
        if not _types(issuer) & {"Issuer", "Profile"} or issuer.get("id") != badge.get(
            "issuer"
        ):
            raise VerificationFailed(
                "issuer", f"{badge.get('issuer')} is not an issuer profile"
            )
        report.passed("issuer", f"issuer {issuer.get('name')!r}")
        report.details.update(
            {
                "assertion_id": assertion.get("id"),
                "badge": {"id": badge.get("id"), "name": badge.get("name")},
                "issuer": {"id": issuer.get("id"), "name": issuer.get("name")},
                "issued_on": assertion.get("issuedOn"),
                "expires": assertion.get("expires"),
            }
        )
        return issuer

    def _ob2_common(
        self, report: Report, assertion: dict, issuer: dict, expected_recipient
    ) -> None:
        revocations = self.fetcher.json(issuer.get("revocationList"), "revocation")
        for entry in revocations.get("revokedAssertions", []):
            entry_id = entry if isinstance(entry, str) else entry.get("id")
            if entry_id == assertion.get("id"):
                reason = (
                    entry.get("revocationReason") if isinstance(entry, dict) else None
                )
                raise VerificationFailed(
                    "revocation",
                    "revoked by the issuer: " + (reason or "no reason given"),
                )
        report.passed("revocation", "not in the issuer's revocation list")
        self._check_dates(
            report,
            parse_time(assertion.get("issuedOn"), "issuedOn"),
            assertion.get("expires"),
        )
        recipient = assertion.get("recipient") or {}
        self._check_recipient(
            report, recipient.get("identity"), recipient.get("salt"), expected_recipient
        )

    # OB 3.0 ------------------------------------------------------------------

    def _verified_jwt(self, token: str, header: dict, check: str) -> str:
        """Verify a VC-JWT's EdDSA signature with the JWK its ``kid`` names."""
        if header.get("alg") != "EdDSA":
            raise VerificationFailed(
                check, f"algorithm {header.get('alg')!r} is not EdDSA"
            )
        kid = header.get("kid")
        jwk = self.fetcher.json(kid, check)
        if jwk.get("kid") != kid:
            raise VerificationFailed(check, f"the key at {kid} has another kid")
        reject_revoked_key(kid, jwk.get("revoked"), jwk.get("revocation_reason"))
        try:
            key = OKPKey.import_key(
                {k: v for k, v in jwk.items() if k in ("kty", "crv", "x")}
            )
            jws.deserialize_compact(token, key, algorithms=["EdDSA"])
        except (ValueError, JoseError) as exc:
            raise VerificationFailed(
                check, f"the signature does not match the key {kid}"
            ) from exc
        return kid

    def _verify_vc_jwt(
        self,
        report: Report,
        token: str,
        header: dict,
        payload: dict,
        expected_recipient,
    ) -> None:
        types = _types(payload)
        report.standard = "clr2-vc-jwt" if "ClrCredential" in types else "ob3-vc-jwt"
        kid = self._verified_jwt(token, header, "signature")
        report.passed("signature", f"EdDSA signature verified with {kid}")
        issuer = self._vc_claims(report, payload, kid)
        valid_until = payload.get("validUntil")
        self._check_dates(
            report, parse_time(payload.get("validFrom"), "validFrom"), valid_until
        )
        if "ClrCredential" in types:
            self._verify_record_members(report, payload, issuer)
            return
        if not types & BADGE_CREDENTIAL_TYPES:
            raise VerificationFailed(
                "format", "the credential is not an OpenBadgeCredential"
            )
        subject = payload.get("credentialSubject") or {}
        achievement = subject.get("achievement") or {}
        report.details.update(
            {
                "credential_id": payload.get("id"),
                "badge": {"id": achievement.get("id"), "name": achievement.get("name")},
                "issuer": {"id": issuer.get("id"), "name": issuer.get("name")},
                "issued_on": payload.get("validFrom"),
                "expires": valid_until,
            }
        )
        self._check_status(report, payload, issuer)
        identifiers = subject.get("identifier") or [{}]
        self._check_recipient(
            report,
            identifiers[0].get("identityHash"),
            identifiers[0].get("salt"),
            expected_recipient,
        )

    def _vc_claims(self, report: Report, payload: dict, kid: str) -> dict:
        context = payload.get("@context") or []
        if not context or context[0] != ob3.VC2_CONTEXT:
            raise VerificationFailed(
                "format",
                "the credential's first @context is not the VC Data Model 2.0 context",
            )
        if "ClrCredential" not in _types(payload) and ob3.OB3_CONTEXT not in context:
            raise VerificationFailed(
                "format", "the credential lacks the Open Badges 3.0 context"
            )
        issuer = payload.get("issuer")
        issuer = issuer if isinstance(issuer, dict) else {"id": issuer}
        if payload.get("iss") != issuer.get("id") or payload.get("jti") != payload.get(
            "id"
        ):
            raise VerificationFailed(
                "format",
                "the JWT claims iss and jti do not match "
                "the credential's issuer and id",
            )
        nbf = payload.get("nbf")
        if not isinstance(nbf, int) or nbf != ob3.timestamp(
            payload.get("validFrom", "")
        ):
            raise VerificationFailed(
                "format", "the JWT claim nbf does not match validFrom"
            )
        prefix = _city_prefix(str(issuer.get("id")), self.base_url)
        if prefix is None or not kid.startswith(prefix + "badges/keys/"):
            raise VerificationFailed(
                "key", f"the key {kid} is not a key of the issuer's city"
            )
        profile = self.fetcher.json(issuer["id"], "issuer")
        if profile.get("id") != issuer["id"]:
            raise VerificationFailed(
                "issuer", f"{issuer['id']} is not an issuer profile"
            )
        report.passed(
            "issuer", f"issuer {profile.get('name')!r}, signed with its city's key"
        )
        return {**issuer, "revocationList": profile.get("revocationList")}

    def _check_status(self, report: Report, credential: dict, issuer: dict) -> None:
        status = credential.get("credentialStatus")
        if not status:
            report.passed("revocation", "the credential has no status entry")
            return
        if (
            status.get("type") != "BitstringStatusListEntry"
            or status.get("statusPurpose") != "revocation"
        ):
            raise VerificationFailed("revocation", "unsupported credentialStatus")
        list_url = status.get("statusListCredential")
        list_token = self.fetcher.text(list_url, "revocation")
        list_header, list_payload = split_compact(list_token)
        self._verified_jwt(list_token, list_header, "revocation")
        if (
            "BitstringStatusListCredential" not in _types(list_payload)
            or list_payload.get("issuer") != issuer["id"]
            or list_payload.get("id") != list_url
        ):
            raise VerificationFailed(
                "revocation", f"{list_url} is not the issuer's status list"
            )
        try:
            bits = decode_list(list_payload["credentialSubject"]["encodedList"])
            revoked = is_set(bits, int(status.get("statusListIndex")))
        except (KeyError, TypeError, ValueError) as exc:
            raise VerificationFailed(
                "revocation", f"the status list is unusable ({exc})"
            ) from exc
        if revoked:
            raise VerificationFailed(
                "revocation",
                "revoked by the issuer: "
                + self._revocation_reason(issuer, credential["id"]),
            )
        report.passed(
            "revocation",
            f"bit {status.get('statusListIndex')} of {list_url} is not set",
        )

    def _revocation_reason(self, issuer: dict, credential_id: str) -> str:
        """Look the reason up in the issuer's OB 2.0 revocation list, if it has one."""
        if not issuer.get("revocationList"):
            return "no reason given"
        revocations = self.fetcher.json(issuer["revocationList"], "revocation")
        for entry in revocations.get("revokedAssertions", []):
            if isinstance(entry, dict) and entry.get("id") == credential_id:
                return entry.get("revocationReason") or "no reason given"
        return "no reason given"

    def _verify_record_members(
        self, report: Report, record: dict, issuer: dict
    ) -> None:
        members = (record.get("credentialSubject") or {}).get(
            "verifiableCredential", []
        )
        results = []
        for member in members:
            token = (
                str(member.get("id", "")).removeprefix(ENVELOPE_PREFIX)
                if isinstance(member, dict)
                else ""
            )
            results.append(
                Verifier(self.base_url, self.fetcher, self.now).verify(token)
            )
        report.details.update(
            {
                "credential_id": record.get("id"),
                "issuer": {"id": issuer.get("id")},
                "members": results,
            }
        )
        invalid = [index for index, result in enumerate(results) if not result["valid"]]
        if invalid:
            first = results[invalid[0]]
            raise VerificationFailed(
                "members",
                f"{len(invalid)} of {len(results)} "
                f"badges are invalid; badge {invalid[0]}: "
                f"{first['reason']}",
            )
        report.passed("members", f"all {len(results)} badges in the record are valid")

    # Shared checks -----------------------------------------------------------

    def _check_dates(self, report: Report, issued: datetime, expires) -> None:
        if issued > self.now + CLOCK_SKEW:
            raise VerificationFailed(
                "expiry", f"issued in the future ({issued.isoformat()})"
            )
        if expires and parse_time(expires, "expiry date") < self.now:
            raise VerificationFailed("expiry", f"expired on {expires}")
        report.passed("expiry", "not expired" if expires else "does not expire")

    def _check_recipient(
        self, report: Report, identity_hash, salt, expected_recipient
    ) -> None:
        if expected_recipient is None:
            return
        if ob2.hashed_identity(expected_recipient, salt or "") != identity_hash:
            raise VerificationFailed(
                "recipient", f"the badge was not issued to {expected_recipient}"
            )
        report.passed("recipient", f"issued to {expected_recipient}")


def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(images.MAX_IMAGE_BYTES + 1)
    with open(path, "rb") as handle:
        return handle.read(images.MAX_IMAGE_BYTES + 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.badges.verify",
        description="Verify a baked badge image, an Open Badges 2.0 assertion "
        "(JSON, URL or JWS) or an Open Badges 3.0 VC-JWT.",
    )
    parser.add_argument(
        "input",
        help="file to verify (PNG, SVG, JSON or token text), or - for standard input",
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        help="public URL of the platform's gateway; only documents "
        "under it are fetched (default: $PUBLIC_BASE_URL or "
        "http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--recipient",
        help="plain recipient identity to check against the badge's hashed identity",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for each fetch (default: 10)",
    )
    args = parser.parse_args(argv)
    try:
        data = read_input(args.input)
    except OSError as exc:
        print(f"cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    if len(data) > images.MAX_IMAGE_BYTES:
        print(
            f"{args.input} is larger than {images.MAX_IMAGE_BYTES} bytes",
            file=sys.stderr,
        )
        return 2
    verifier = Verifier(args.base_url, Fetcher(args.base_url, timeout=args.timeout))
    report = verifier.verify(data, expected_recipient=args.recipient)
    print(json.dumps(report, indent=2))
    return 0 if report["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
