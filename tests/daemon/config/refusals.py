"""How every config test checks a refusal: one ConfigError, one line, starting with the words."""

from __future__ import annotations

import pytest

from scanner.daemon import config as cfg


def assert_refused(text: str, env: dict[str, str], message: str) -> None:
    """Parsing ``text`` with ``env`` stops with one line that starts with ``message``."""
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, env)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)
