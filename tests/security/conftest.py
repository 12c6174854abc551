"""Fixtures of the security tests: the consumer suite's file server, reused."""

from __future__ import annotations

from tests.consumer.conftest import file_server

__all__ = ["file_server"]
