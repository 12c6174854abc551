"""The allow-list and the address check of attachment URLs, without a broker (see url_policy)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from adapter.config import ConfigError, load_settings
from adapter.consumer import url_policy
from adapter.consumer.attachments import AttachmentFetcher, AttachmentLimits, pinned_request
from adapter.consumer.url_policy import AllowedHosts, UrlNotAllowed, checked_addresses, is_internal
from adapter.messages.commands import UrlAttachment
from tests.support.files import FileServer


def test_entries_match_host_any_port_host_and_port_or_subdomains_only() -> None:
    allowed = AllowedHosts.parse(["Files.Example.org.", "pacs.local:8443", "*.cdn.example.net"])
    assert allowed.match("files.example.org", 80) == "exact"
    assert allowed.match("FILES.example.org", 9999) == "exact"
    assert allowed.match("pacs.local", 8443) == "exact"
    assert allowed.match("pacs.local", 80) is None
    assert allowed.match("a.b.cdn.example.net", 443) == "wildcard"
    assert allowed.match("cdn.example.net", 443) is None
    assert allowed.match("evilcdn.example.net", 443) is None
    assert AllowedHosts.parse(["[::1]:8080"]).match("[::1]", 8080) == "exact"


@pytest.mark.parametrize("entry", ["", "*", "http://files/x", "user@host", "host:0", "host:http"])
def test_a_malformed_entry_stops_the_adapter_at_start(entry: str) -> None:
    with pytest.raises(ConfigError, match="DEZO_ATTACHMENT_URL_ALLOWED_HOSTS"):
        load_settings(oncor_token="x", attachment_url_allowed_hosts=[entry])


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
     "224.0.0.1", "100.64.0.1", "::1", "fe80::1", "fc00::1", "::", "::ffff:127.0.0.1", "ff02::1"],
)  # fmt: skip
def test_internal_addresses_are_recognised(address: str) -> None:
    assert is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"])
def test_public_addresses_are_not_internal(address: str) -> None:
    assert not is_internal(ipaddress.ip_address(address))


async def test_a_host_off_the_list_is_refused_before_any_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_lookup(host: str, port: int) -> list[url_policy.IpAddress]:
        raise AssertionError("resolved a host that is not allowed")

    monkeypatch.setattr(url_policy, "_resolve", no_lookup)
    with pytest.raises(UrlNotAllowed, match="not on DEZO_ATTACHMENT_URL_ALLOWED_HOSTS"):
        await checked_addresses(AllowedHosts.parse(["files.example.org"]), "other.example.org", 80)


async def test_a_wildcard_host_resolving_inside_is_refused_and_an_exact_one_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def inward(host: str, port: int) -> list[url_policy.IpAddress]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]

    monkeypatch.setattr(url_policy, "_resolve", inward)
    allowed = AllowedHosts.parse(["*.example.org", "pdf.example.org"])
    with pytest.raises(UrlNotAllowed, match="resolves to an internal address") as refused:
        await checked_addresses(allowed, "files.example.org", 443)
    assert "10.0.0.7" not in str(refused.value)  # no addresses told back
    [public, internal] = await checked_addresses(allowed, "pdf.example.org", 443)
    assert (str(public), str(internal)) == ("93.184.216.34", "10.0.0.7")


async def test_an_address_literal_is_checked_like_a_name() -> None:
    allowed = AllowedHosts.parse(["*.example.org", "127.0.0.1:8080"])
    with pytest.raises(UrlNotAllowed):
        await checked_addresses(allowed, "127.0.0.1", 8081)
    assert [str(a) for a in await checked_addresses(allowed, "127.0.0.1", 8080)] == ["127.0.0.1"]


def test_an_international_name_matches_its_idna_form() -> None:
    assert AllowedHosts.parse(["пример.рф"]).match("xn--e1afmkfd.xn--p1ai", 443) == "exact"


def test_the_download_goes_to_the_checked_address_naming_the_host_for_http_and_tls() -> None:
    url = httpx.URL("https://pdf.example.org:8443/c")
    request = pinned_request(httpx.AsyncClient(), url, ipaddress.ip_address("93.184.216.34"))
    assert str(request.url) == "https://93.184.216.34:8443/c"  # never resolved again
    assert request.headers["Host"] == "pdf.example.org:8443"
    assert request.extensions["sni_hostname"] == "pdf.example.org"  # the certificate's name


async def test_a_download_falls_back_to_the_next_checked_address(
    monkeypatch: pytest.MonkeyPatch, file_server: FileServer
) -> None:
    async def refusing_first(host: str, port: int) -> list[url_policy.IpAddress]:
        return [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(url_policy, "_resolve", refusing_first)
    port = file_server.authority.rpartition(":")[2]
    url = file_server.url("fallback.pdf", b"%PDF-1.7 fallback").replace("127.0.0.1", "files.test")
    limits = AttachmentLimits(
        inline_max_bytes=1,
        url_max_bytes=1024,
        url_timeout=5,
        allowed_hosts=AllowedHosts.parse([f"files.test:{port}"]),
        url_concurrency=1,
        spool_max_bytes=1024,
    )
    ref = UrlAttachment.model_validate(
        {"name": "c.pdf", "media_type": "application/pdf", "url": url}
    )
    async with (
        httpx.AsyncClient() as http,
        AttachmentFetcher(limits, http).ready(ref, "pdf", must_be_pdf=True) as ready,
    ):
        assert ready.size == len(b"%PDF-1.7 fallback")
