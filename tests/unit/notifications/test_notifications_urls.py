"""SSRF checks on webhook URLs, at subscription time and before each attempt."""

import socket

import pytest

from services.notifications.urls import UnsafeUrl, check_webhook_url, resolve_public

# Offline name resolution: what a partner's DNS could answer, without real DNS.
FAKE_DNS = {
    "partner.example": ["93.184.215.14"],
    "internal.example": ["10.0.0.5"],
    "mixed.example": ["93.184.215.14", "192.168.1.20"],
    "metadata.example": ["169.254.169.254"],
    "v6private.example": ["fd00::1"],
    "v6public.example": ["2606:4700::1111"],
    "mapped.example": ["::ffff:127.0.0.1"],
}


def fake_resolver(host, port):
    try:
        return FAKE_DNS[host]
    except KeyError:
        raise socket.gaierror(socket.EAI_NONAME, "not known") from None


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook",
    "http://127.1.2.3/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/hook",
    "http://[fd00:ec2::254]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://internal.example/hook",
    "http://mixed.example/hook",
    "http://metadata.example/hook",
    "http://v6private.example/hook",
    "http://mapped.example/hook",
    "http://nowhere.example/hook",
    "ftp://partner.example/hook",
    "http:///nohost",
    "http://user:pass@partner.example/hook",
    "http://partner.example:99999/hook",
])
def test_check_webhook_url_rejects(url):
    with pytest.raises(UnsafeUrl):
        check_webhook_url(url, resolver=fake_resolver)


@pytest.mark.parametrize("url", [
    "https://partner.example/hook",
    "http://partner.example:8080/hook?x=1",
    "https://v6public.example/hook",
    "https://93.184.215.14/hook",
])
def test_check_webhook_url_accepts_public(url):
    check_webhook_url(url, resolver=fake_resolver)


def test_localhost_name_is_loopback():
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_webhook_url("http://localhost/hook")


def test_loopback_allowed_only_when_asked():
    check_webhook_url("http://127.0.0.1:9000/hook", allow_loopback=True)
    check_webhook_url("http://localhost:9000/hook", allow_loopback=True)


def test_allow_loopback_still_rejects_private():
    with pytest.raises(UnsafeUrl):
        check_webhook_url("http://10.0.0.1/hook", allow_loopback=True)
    with pytest.raises(UnsafeUrl):
        check_webhook_url("http://169.254.169.254/hook", allow_loopback=True)


def test_require_https_rejects_http():
    with pytest.raises(UnsafeUrl, match="https"):
        check_webhook_url("http://partner.example/hook", require_https=True,
                          resolver=fake_resolver)
    check_webhook_url("https://partner.example/hook", require_https=True,
                      resolver=fake_resolver)


def test_resolve_public_returns_checked_addresses():
    assert resolve_public("partner.example", 443, resolver=fake_resolver) == [
        "93.184.215.14"]
