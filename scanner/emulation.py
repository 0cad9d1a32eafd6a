"""Compatibility: the emulator moved to :mod:`scanner.testing.emulation`.

Its descriptions were renamed so that they no longer shadow the model's values
(``Account`` is now ``AccountSpec``, and so on); the old names stay importable from here.
"""

from __future__ import annotations

from scanner.testing.emulation import *  # noqa: F403
from scanner.testing.emulation import AccountSpec as Account
from scanner.testing.emulation import OrganizationSpec as Organization
from scanner.testing.emulation import SelectorSpec as Selector
from scanner.testing.emulation import TopicSpec as Topic
from scanner.testing.emulation import TrailSpec as Trail
from scanner.testing.emulation import __all__ as _moved

__all__ = [*_moved, "Account", "Organization", "Selector", "Topic", "Trail"]  # noqa: PLE0604
