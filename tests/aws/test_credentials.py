"""Assumed keys renewed by the daemon's background round while a scan's request wants them.

The round runs beside the scans without their lock (see ``Service.renew_keys``): what makes
that safe is that a role is never assumed twice for one renewal, whoever asks first. The role's
AssumeRole is a fake here that waits until the test lets it answer.
"""

from __future__ import annotations

import asyncio

from scanner.aws.credentials import ADVISORY_REFRESH_SECONDS, RoleCredentials, RoleKeys

NOW = 1_000_000.0


def keys(name: str, left: float) -> RoleKeys:
    return RoleKeys(f"AKIA{name}", f"secret-{name}", f"token-{name}", NOW + left)


def test_a_request_during_a_background_renewal_takes_its_keys_without_assuming_again() -> None:
    async def scenario() -> None:
        answer = asyncio.Event()
        assumed: list[str] = []

        async def assume() -> RoleKeys:
            assumed.append("AssumeRole")
            await answer.wait()
            return keys("NEW", 3600)

        old = RoleCredentials(
            keys("OLD", ADVISORY_REFRESH_SECONDS - 60), "2" * 12, assume, clock=lambda: NOW
        )
        round_ = asyncio.create_task(old.renew_ahead(ADVISORY_REFRESH_SECONDS + 600))
        await asyncio.sleep(0)  # the round is assuming the role
        request = asyncio.create_task(old.get_frozen_credentials())  # finds the keys old
        await asyncio.sleep(0)
        answer.set()
        assert await round_ is True
        frozen = await request
        assert frozen.access_key == "AKIANEW"
        assert assumed == ["AssumeRole"]
        # Renewed for the hour: neither a round nor a request assumes it again.
        assert await old.renew_ahead(ADVISORY_REFRESH_SECONDS + 600) is False
        assert (await old.get_frozen_credentials()).access_key == "AKIANEW"
        assert assumed == ["AssumeRole"]

    asyncio.run(scenario())


def test_keys_printed_or_logged_never_show_their_secrets() -> None:
    shown = repr(keys("SHOWN", 3600))
    assert "AKIASHOWN" not in shown and "secret-SHOWN" not in shown
    assert "token-SHOWN" not in shown
