"""Client creation leaves the event loop free: model files are parsed in a worker thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from scanner.aws.clients import ClientOptions, ClientPool


def test_a_services_models_are_loaded_once_off_the_event_loop() -> None:
    loads: list[tuple[str, str, bool]] = []

    async def scenario() -> None:
        pool = ClientPool(ClientOptions(endpoint_url="http://127.0.0.1:9"))
        loader = pool.base_session.get_component("data_loader")
        original = loader.load_service_model
        loop_thread = threading.get_ident()

        def spy(service: str, kind: str, *args: Any, **kwargs: Any) -> Any:
            loads.append((service, kind, threading.get_ident() == loop_thread))
            return original(service, kind, *args, **kwargs)

        loader.load_service_model = spy
        try:
            await asyncio.gather(
                pool._raw("us-east-1", "sts"),
                pool._raw("eu-west-1", "sts"),
                pool._raw("us-east-1", "logs"),
            )
        finally:
            await pool.close()
        assert pool.created == 3

    asyncio.run(scenario())
    off_loop = [(service, kind) for service, kind, on_loop in loads if not on_loop]
    # Each service's model and endpoint rules parsed once, in a worker thread, before any
    # client needed them (botocore's own later look-ups hit the loader's cache).
    assert sorted(set(off_loop)) == [
        ("logs", "endpoint-rule-set-1"),
        ("logs", "service-2"),
        ("sts", "endpoint-rule-set-1"),
        ("sts", "service-2"),
    ]
    assert len(off_loop) == 4
