"""An actor's construction errors reach the driver as one line (pure logic: the guard is an
ordinary class wrapper; tests/test_failures.py runs it on Ray)."""

import pytest

from distrl.config import ConfigError
from distrl.runtime.starting import ActorStartError, start_guarded, started


class Fragile:
    def __init__(self, error):
        if error is not None:
            raise error

    def ready(self):
        return "up"


def test_bad_input_is_a_config_error_and_anything_else_one_line_with_its_traceback():
    Guarded = start_guarded(Fragile)
    assert Guarded.__name__ == "Fragile" and started(Guarded(None).ready()) == "up"
    with pytest.raises(ConfigError, match=r"^env 'x' is broken$"):
        started(Guarded(ConfigError("env 'x' is broken")).ready())
    with pytest.raises(ActorStartError) as failure:
        started(Guarded(MemoryError("no room\nsecond line")).ready())
    assert str(failure.value) == "Fragile could not start: MemoryError: no room"
    assert failure.value.one_line and "Traceback" in failure.value.details
