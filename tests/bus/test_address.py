"""DEZO_AMQP_URL as a list of broker addresses: what each entry means, and errors that name the
bad entry without its credentials."""

from __future__ import annotations

import pytest

from adapter.bus.address import broker_urls
from adapter.config import ConfigError, load_settings


def test_a_host_takes_scheme_credentials_and_vhost_from_the_first_entry() -> None:
    assert broker_urls("amqps://u:s3cret@a:5671/v?heartbeat=10, b:5672 ,c,amqp://w:x@d/other") == (
        "amqps://u:s3cret@a:5671/v?heartbeat=10",
        "amqps://u:s3cret@b:5672/v?heartbeat=10",
        "amqps://u:s3cret@c/v?heartbeat=10",
        "amqp://w:x@d/other",
    )


def test_one_url_is_a_list_of_one() -> None:
    assert broker_urls("amqp://guest:guest@127.0.0.1:5672/") == (
        "amqp://guest:guest@127.0.0.1:5672/",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://u:s3cret@a/", "entry 1 (http://a/): must be an amqp:// or amqps:// URL"),
        ("b:5672,amqp://u:s3cret@a/", "entry 1 (b:5672): must be an amqp:// or amqps:// URL"),
        ("amqp://u:s3cret@a/,b:99999", "entry 2 (b:99999): port is not a number"),
        ("amqp://u:s3cret@a/,u:s3cret@b", "entry 2 (b): must be host[:port] or a full URL"),
        ("amqp://u:s3cret@a/,b/vhost", "entry 2 (b/vhost): must be host[:port] or a full URL"),
        ("amqp://u:s3cret@a/,,b", "entry 2 (empty): has no host"),
        ("amqp://u:s3cret@a/,http://u:s3cret@b/", "entry 2 (http://b/): must be host[:port]"),
    ],
)
def test_a_bad_entry_is_named_without_its_credentials(value: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        broker_urls(value)
    assert str(raised.value).startswith(message)
    assert "s3cret" not in str(raised.value)


def test_the_adapter_refuses_to_start_naming_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEZO_ONCOR_TOKEN", "t")
    monkeypatch.setenv("DEZO_AMQP_URL", "amqp://u:s3cret@a/,b:0")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "DEZO_AMQP_URL: Value error, entry 2 (b:0): port 0 is not a port" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_every_plaintext_node_away_from_this_machine_is_warned_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEZO_ONCOR_TOKEN", "t")
    monkeypatch.setenv("DEZO_AMQP_URL", "amqp://u:p@127.0.0.1/,rabbit-b")
    assert load_settings().plaintext_endpoints == ["DEZO_AMQP_URL"]
