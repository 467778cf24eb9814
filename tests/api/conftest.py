"""Fixtures of the API tests."""

import pytest

from schema.core import response_cache


@pytest.fixture
def response_cache_on(settings):
    """The response cache on, entries fresh for a minute (no test waits for staleness unless it sets less), and
    this process's memory layer empty before and after."""
    settings.RESPONSE_CACHE = True
    settings.RESPONSE_CACHE_MAX_STALENESS = 60.0
    response_cache.memory.clear()
    yield
    response_cache.memory.clear()
