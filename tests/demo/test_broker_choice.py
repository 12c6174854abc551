"""Which broker the demo runs on: the order of preference, asking only what the answer needs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapter.broker_container import docker_reachable
from adapter.demo_broker import choose_source


def never(what: str) -> Callable[[], bool]:
    def asked() -> bool:
        raise AssertionError(f"asked whether {what}, which the choice does not depend on")

    return asked


def always() -> bool:
    return True


def not_at_all() -> bool:
    return False


def test_a_given_url_is_used_without_probing_or_starting_anything() -> None:
    assert (
        choose_source(
            given=True,
            default_answers=never("the default answers"),
            rabbitmq_installed=never("RabbitMQ is installed"),
            docker_answers=never("Docker answers"),
        )
        == "given"
    )


def test_a_broker_answering_at_the_default_address_is_used_as_it_is() -> None:
    assert (
        choose_source(
            given=False,
            default_answers=always,
            rabbitmq_installed=never("RabbitMQ is installed"),
            docker_answers=never("Docker answers"),
        )
        == "default"
    )


def test_installed_rabbitmq_comes_before_docker() -> None:
    assert (
        choose_source(
            given=False,
            default_answers=not_at_all,
            rabbitmq_installed=always,
            docker_answers=never("Docker answers"),
        )
        == "node"
    )


@pytest.mark.parametrize(("docker", "source"), [(always, "container"), (not_at_all, None)])
def test_without_rabbitmq_installed_docker_or_nothing(
    docker: Callable[[], bool], source: str | None
) -> None:
    assert (
        choose_source(
            given=False,
            default_answers=not_at_all,
            rabbitmq_installed=not_at_all,
            docker_answers=docker,
        )
        == source
    )


def test_docker_does_not_count_as_reachable_when_its_socket_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert docker_reachable() is False
