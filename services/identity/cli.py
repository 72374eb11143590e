"""Operate the identity service from a shell: create the platform's operators.

    python -m services.identity.cli create-operator --email ops@example.org
    printf '%s' "$PASSWORD" | python -m services.identity.cli create-operator \\
        --email ops@example.org --password-stdin --reset-password
    python -m services.identity.cli rotate-signing-key

``create-operator`` creates a verified account with the platform-wide operator
role, or gives the role to the existing account of that e-mail. A new account's
password is generated and printed once, unless ``--password-stdin`` reads it from
standard input. Running it again changes no password without ``--reset-password``.
Each command talks to the running identity service over RabbitMQ (``AMQP_URI``),
as the catalog's command line does. Errors go to stderr with exit status 1.
"""

import argparse
import json
import secrets
import sys

from nameko.exceptions import RemoteError, RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from cities_common.config import load_settings
from cities_common.errors import PlatformError

RPC_TIMEOUT_SECONDS = 60


def identity_call(method: str, *args, **kwargs):
    """Call one identity RPC through a standalone proxy and return its result."""
    config = {"AMQP_URI": load_settings().amqp_uri}
    with ClusterRpcProxy(config, timeout=RPC_TIMEOUT_SECONDS) as proxy:
        return getattr(proxy.identity, method)(*args, **kwargs)


def read_password(stream) -> str:
    """Return the password on ``stream`` without its line ending."""
    password = stream.read().rstrip("\r\n")
    if not password:
        raise SystemExit("error: --password-stdin read an empty password")
    return password


def create_operator(args) -> str:
    """Create or find the operator; return the text to print."""
    generated = not args.password_stdin
    password = secrets.token_urlsafe(18) if generated else read_password(sys.stdin)
    result = identity_call("create_operator", args.email, password,
                           args.reset_password)
    account_id = result["account_id"]
    if not result["password_set"]:
        return (f"operator account {account_id} already exists; its password is "
                "unchanged (pass --reset-password to set a new one)")
    action = "created" if result["created"] else "updated"
    if not generated:
        return f"operator account {account_id} {action} with the given password"
    return (f"operator account {account_id} {action}.\n"
            f"Password (shown only now): {password}")


def rotate_signing_key(args) -> str:
    result = identity_call("rotate_signing_key")
    return json.dumps(result)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m services.identity.cli",
                                   description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    operator = commands.add_parser(
        "create-operator", help="create a platform operator account, or grant the "
                                "operator role to an existing account; idempotent")
    operator.add_argument("--email", required=True, help="the operator's e-mail")
    operator.add_argument("--password-stdin", action="store_true",
                          help="read the password from standard input instead of "
                               "generating and printing one")
    operator.add_argument("--reset-password", action="store_true",
                          help="set the password even when the account exists, "
                               "which logs it out everywhere")
    operator.set_defaults(run=create_operator)

    rotate = commands.add_parser(
        "rotate-signing-key", help="sign access tokens with a new key; the old key "
                                   "verifies tokens for one more token lifetime")
    rotate.set_defaults(run=rotate_signing_key)
    return root


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        output = args.run(args)
    except (PlatformError, RemoteError, RpcTimeout) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
