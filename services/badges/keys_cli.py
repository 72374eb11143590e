"""List, rotate and revoke a city's badge signing keys from the command line.

    python -m services.badges.keys_cli list --city chicago
    python -m services.badges.keys_cli rotate --city chicago [--algorithm RS256]
    python -m services.badges.keys_cli revoke --city chicago --key-id ID --reason TEXT

It works on the badges database named by ``MONGO_URL`` and ``COL_NAMESPACE``, with
the keys encrypted under ``BADGES_KEY_PASSPHRASE``, as the operator routes under
``/v1/cities/<city>/badges/signing-keys`` do. It prints the city's keys as JSON,
without key material, and exits 1 when the city or the key is not found or the
passphrase is unusable.
"""

import argparse
import json
import sys

from cities_common.config import load_settings
from cities_common.errors import CityArchived, UnknownCity
from cities_common.storage import mongo_client
from cities_common.tenancy import CityRegistry
from services.badges.keys import ALGORITHMS, KeyConfigurationError, KeyRing


def run(database, passphrase: str, args) -> dict:
    """Carry out one command on ``database``; return the reply to print.

    Raises ``UnknownCity``, ``CityArchived``, ``KeyConfigurationError``, or
    ``LookupError`` for an unknown key id.
    """
    city = CityRegistry(database).require(args.city)
    keyring = KeyRing(database["signing_keys"], passphrase)
    reply = {}
    if args.command == "rotate":
        keyring.rotate(city, tuple(args.algorithm or ALGORITHMS))
    elif args.command == "revoke":
        revoked = keyring.revoke(city, args.key_id, args.reason)
        if revoked is None:
            raise LookupError(f"signing key {args.key_id!r} not found in {city}")
        reply["revoked"] = revoked.summary()
    reply["keys"] = [key.summary() for key in keyring.keys(city)]
    return reply


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m services.badges.keys_cli",
        description="List, rotate or revoke a city's badge signing keys.",
    )
    commands = root.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("list", "print the city's keys with their status"),
        ("rotate", "sign with new keys from now on; the old ones stay published"),
        ("revoke", "declare a key compromised, so its signatures fail verification"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--city", required=True, help="the city's slug")
    commands.choices["rotate"].add_argument(
        "--algorithm",
        action="append",
        choices=ALGORITHMS,
        help="rotate only this algorithm (repeatable; default: both)",
    )
    commands.choices["revoke"].add_argument("--key-id", required=True)
    commands.choices["revoke"].add_argument(
        "--reason", required=True, help="why the key is no longer trusted"
    )
    return root


def main(argv=None, database=None) -> int:
    args = parser().parse_args(argv)
    settings = load_settings()
    if database is None:
        client = mongo_client(settings.mongo_url)
        database = client[settings.mongo_database("badges")]
    try:
        reply = run(database, settings.badges_key_passphrase, args)
    except (CityArchived, KeyConfigurationError, LookupError, UnknownCity) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
