"""The identity command line and the catalog's onboarding call to identity."""

import io

import pytest

from services.catalog import cli as catalog_cli
from services.identity import cli


class Calls(list):
    """The identity RPCs called; each returns ``results[method]``."""

    def __init__(self):
        super().__init__()
        self.results = {}

    def __call__(self, method, *args):
        self.append((method, args))
        return self.results[method]


@pytest.fixture
def calls(monkeypatch):
    recorded = Calls()
    monkeypatch.setattr(cli, "identity_call", recorded)
    return recorded


def test_create_operator_prints_generated_password_once(calls, capsys):
    calls.results["create_operator"] = {"account_id": "acct-1", "created": True,
                                        "password_set": True}
    assert cli.main(["create-operator", "--email", "ops@example.org"]) == 0
    [(method, (email, password, reset))] = calls
    assert (method, email, reset) == ("create_operator", "ops@example.org", False)
    output = capsys.readouterr().out
    assert "acct-1 created" in output
    assert f"Password (shown only now): {password}" in output
    assert len(password) >= 24


def test_create_operator_again_says_it_exists(calls, capsys):
    calls.results["create_operator"] = {"account_id": "acct-1", "created": False,
                                        "password_set": False}
    assert cli.main(["create-operator", "--email", "ops@example.org"]) == 0
    output = capsys.readouterr().out
    assert "already exists" in output
    assert "--reset-password" in output
    assert "Password" not in output


def test_create_operator_reads_password_from_stdin(calls, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    calls.results["create_operator"] = {"account_id": "acct-1", "created": False,
                                        "password_set": True}
    assert cli.main(["create-operator", "--email", "ops@example.org",
                     "--password-stdin", "--reset-password"]) == 0
    assert calls[0][1] == ("ops@example.org", "a long enough secret", True)
    output = capsys.readouterr().out
    assert "updated with the given password" in output
    assert "a long enough secret" not in output


def test_create_operator_rejects_empty_stdin(calls, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(SystemExit, match="empty password"):
        cli.main(["create-operator", "--email", "ops@example.org", "--password-stdin"])


def test_create_operator_reports_errors(monkeypatch, capsys):
    from cities_common.errors import InvalidInput

    def fail(method, *args):
        raise InvalidInput({"password": ["too short"]}, "invalid password")

    monkeypatch.setattr(cli, "identity_call", fail)
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["create-operator", "--email", "ops@example.org",
                     "--password-stdin"]) == 1
    assert "too short" in capsys.readouterr().err


class FakeProxy:
    """A ``ClusterRpcProxy`` stand-in with ``catalog`` and ``identity`` services."""

    calls: list = []

    def __init__(self, *args, **kwargs):
        self.catalog = self
        self.identity = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def onboard_city(self, request):
        FakeProxy.calls.append(("onboard_city", request["slug"]))
        return {"city": {"slug": request["slug"]}, "admin": {"id": "acc-cat-1"}}

    def grant_by_email(self, *args):
        FakeProxy.calls.append(("grant_by_email", args))
        return {"account_id": "acct-9", "setup_token": "setup"}


def test_onboard_grants_city_admin_in_identity(monkeypatch):
    FakeProxy.calls = []
    monkeypatch.setattr(catalog_cli, "ClusterRpcProxy", FakeProxy)
    args = catalog_cli.parser().parse_args([
        "onboard", "--slug", "pittsburgh", "--city-file", "data/cities.json",
        "--admin-email", "admin@pittsburgh.example", "--admin-name", "Pat Admin"])
    result = catalog_cli.onboard(args)
    assert FakeProxy.calls == [
        ("onboard_city", "pittsburgh"),
        ("grant_by_email", ("admin@pittsburgh.example", "pittsburgh", "city_admin",
                            "pittsburgh", "acc-cat-1"))]
    assert result["identity"] == {"account_id": "acct-9", "setup_token": "setup"}
