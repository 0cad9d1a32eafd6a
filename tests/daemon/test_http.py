"""The HTTP endpoints on a real port: metrics, health, readiness, the findings API and its token."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
from pathlib import Path

import aiohttp
import pytest

from scanner.catalog import Catalog, load_catalog
from scanner.daemon.config import Config, RulesConfig
from scanner.daemon.encoded import RECENT
from scanner.daemon.http import Server, make_app, start
from scanner.daemon.metrics import AccountView, Metrics
from scanner.daemon.scheduler import Service
from scanner.daemon.sharding import Shard
from scanner.model import Finding, Link, LinkResult, LinkStatus, Status
from scanner.report.compact import OWN, expand

A, B = "111111111111", "222222222222"


def finding(account: str, rule: str, status: Status, severity: str = "high") -> Finding:
    return Finding(
        account_id=account,
        account_name="n",
        rule=rule,
        title=rule,
        severity=severity,
        profile="recommended",
        status=status,
        reason="r",
    )


class Running:
    def __init__(self, service: Service, server: Server) -> None:
        self.service = service
        self.server = server

    async def get(self, path: str, token: str | None = None) -> tuple[int, str, dict[str, str]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.server.url + path, headers=headers) as response,
        ):
            return response.status, await response.text(), dict(response.headers)

    async def raw(self, path: str, **headers: str) -> tuple[bytes, dict[str, str]]:
        """The body as sent (not decompressed) and the response headers."""
        async with (
            aiohttp.ClientSession(auto_decompress=False) as session,
            session.get(self.server.url + path, headers=headers) as response,
        ):
            return await response.read(), dict(response.headers)


async def serve(token_file: Path | None = None, config: Config | None = None) -> Running:
    service = Service(config or Config(), Shard(), Metrics())
    service.metrics.restore(
        [
            finding(A, "vpc-changes", Status.FAIL),
            finding(A, "nacl-changes", Status.PASS),
            finding(B, "vpc-changes", Status.ERROR, "critical"),
        ],
        accounts=[AccountView(A, "a", "Workloads/Production"), AccountView(B, "b", "Sandbox")],
    )

    def token() -> str | None:
        return token_file.read_text().strip() if token_file else None

    server = await start(make_app(service, token), "127.0.0.1", 0)
    return Running(service, server)


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_metrics_healthz_readyz() -> None:
    async def scenario() -> None:
        r = await serve()
        try:
            status, body, headers = await r.get("/metrics")
            assert status == 200
            assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert 'scanner_account_controls{account_id="111111111111"' in body
            # Not ready before the state is loaded or a scan completed; not alive without loop.
            assert (await r.get("/readyz"))[0] == 503
            assert (await r.get("/healthz"))[0] == 503
            r.service.health.ready = True
            r.service.health.loop_running = True
            assert (await r.get("/readyz"))[:2] == (200, "ready\n")
            assert (await r.get("/healthz"))[:2] == (200, "ok\n")
        finally:
            await r.server.close()

    run(scenario())


def test_findings_filtered_by_account_rule_and_status() -> None:
    async def scenario() -> None:
        r = await serve()
        try:
            status, body, _ = await r.get("/api/v1/findings")
            data = json.loads(body)
            assert status == 200
            assert data["count"] == 3
            assert data["shard"] == {"ordinal": 0, "total": 1}
            assert {f["rule"] for f in data["findings"]} == {"vpc-changes", "nacl-changes"}

            def pairs(body: str) -> set[tuple[str, str, str]]:
                return {
                    (f["account_id"], f["rule"], f["status"]) for f in json.loads(body)["findings"]
                }

            _, body, _ = await r.get(f"/api/v1/findings?account={A}")
            assert pairs(body) == {(A, "vpc-changes", "FAIL"), (A, "nacl-changes", "PASS")}
            _, body, _ = await r.get("/api/v1/findings?rule=vpc-changes&status=fail")
            assert pairs(body) == {(A, "vpc-changes", "FAIL")}
            _, body, _ = await r.get("/api/v1/findings?status=FAIL&status=ERROR")
            assert pairs(body) == {(A, "vpc-changes", "FAIL"), (B, "vpc-changes", "ERROR")}
            status, body, _ = await r.get("/api/v1/findings?status=BROKEN")
            assert (status, body) == (
                400,
                "unknown status 'BROKEN'; valid statuses (any case): pass, fail, error, all\n",
            )
            status, body, _ = await r.get("/api/v1/findings?acount=1")
            assert status == 400 and "unknown parameter 'acount'" in body
        finally:
            await r.server.close()

    run(scenario())


def test_the_api_reads_status_severity_and_rules_as_the_command_line_does() -> None:
    """``--severity high+``, ``--status fail,error`` and ``--rules 4.4,vpc-changes`` mean the
    same as query parameters: one parser serves both (scanner.evaluate.vocabulary)."""

    async def scenario() -> None:
        r = await serve()
        try:

            async def pairs(query: str) -> set[tuple[str, str]]:
                status, body, _ = await r.get(f"/api/v1/findings?{query}")
                assert status == 200, (query, body)
                return {(f["account_id"], f["rule"]) for f in json.loads(body)["findings"]}

            every = {(A, "vpc-changes"), (A, "nacl-changes"), (B, "vpc-changes")}
            # '+' in a query string is a space unless encoded: both spellings work.
            for high_and_above in ("severity=high+", "severity=high%2B", "severity=HIGH%2B"):
                assert await pairs(high_and_above) == every, high_and_above
            assert await pairs("severity=critical+") == {(B, "vpc-changes")}
            assert await pairs("severity=low,critical") == {(B, "vpc-changes")}
            assert await pairs("status=fail,error") == {(A, "vpc-changes"), (B, "vpc-changes")}
            assert await pairs("status=all") == every
            assert await pairs("rule=vpc-changes,nacl-changes") == every
            for bad, message in (
                (
                    "severity=urgent%2B",
                    "unknown severity 'urgent+'; valid severities (any case; 'high+' is high and "
                    "above): low, medium, high, critical",
                ),
                ("status=fail,", "empty name in list 'fail,'"),
                ("status=broken", "unknown status 'BROKEN'; valid statuses (any case): pass,"),
                ("rule=vpc-changes,nope", "unknown rule or control id 'nope'"),
            ):
                status, body, _ = await r.get(f"/api/v1/findings?{bad}")
                assert status == 400 and body.startswith(message), (bad, body)
                assert body.count("\n") == 1
        finally:
            await r.server.close()

    run(scenario())


def test_findings_by_control_id_read_in_the_daemons_profile() -> None:
    async def scenario(profile: str, wanted: dict[str, set[str]], refused: dict[str, str]) -> None:
        config = dataclasses.replace(Config(), rules=RulesConfig(profile=profile))
        r = await serve(config=config)
        try:
            for name, rules in wanted.items():
                status, body, _ = await r.get(f"/api/v1/findings?rule={name}")
                assert status == 200, (name, body)
                assert {f["rule"] for f in json.loads(body)["findings"]} == rules, name
            for name, message in refused.items():
                status, body, _ = await r.get(f"/api/v1/findings?rule={name}")
                assert status == 400, (name, body)
                assert body.startswith(message) and body.count("\n") == 1, (name, body)
        finally:
            await r.server.close()

    every_rule = ", ".join(rule.id for rule in load_catalog().rules)
    run(
        scenario(
            "recommended",
            {
                "4.14": {"vpc-changes"},
                "5.14": {"vpc-changes"},
                "CloudWatch.14": {"vpc-changes"},
                "4.11&rule=vpc-changes": {"vpc-changes", "nacl-changes"},
                "4.4": set(),  # a rule of the profile: no findings of it yet
            },
            {"nope": f"unknown rule or control id 'nope'; valid names: {every_rule}\n"},
        )
    )
    run(
        scenario(
            "cis-5.0",
            {"4.14": {"vpc-changes"}, "cis-7.0:5.11": {"nacl-changes"}},
            {
                "5.14": "'5.14' is not a control of cis-5.0 (in other standards it names "
                "vpc-changes); its controls: 4.1, 4.2,",
                "iam-login-profile-changes": "not in profile cis-5.0: iam-login-profile-changes",
            },
        )
    )


def test_an_ambiguous_rule_is_a_400_listing_the_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog()
    renumbered = Catalog(  # v1.2's 3.1 renumbered 4.14: two rules under one number
        tuple(
            dataclasses.replace(rule, cis_sections={**rule.cis_sections, "cis-1.2": "4.14"})
            if rule.id == "unauthorized-api-calls"
            else rule
            for rule in catalog.rules
        ),
        catalog.profiles,
        catalog.default_profile,
    )
    monkeypatch.setattr("scanner.daemon.http.load_catalog", lambda: renumbered)

    async def scenario() -> None:
        r = await serve()
        try:
            status, body, _ = await r.get("/api/v1/findings?rule=4.14")
            assert status == 400
            assert body.startswith(
                "control id '4.14' names 2 rules; qualify it: "
                "cis-1.2:4.14 (unauthorized-api-calls), cis-1.4:4.14 (vpc-changes)"
            )
            _, body, _ = await r.get("/api/v1/findings?rule=cis-5.0:4.14&limit=1")
            page = json.loads(body)
            assert [f["rule"] for f in page["findings"]] == ["vpc-changes"]
            assert "rule=vpc-changes" in page["next"]  # the next link names the rule by its id
        finally:
            await r.server.close()

    run(scenario())


def test_metrics_are_gzipped_and_negotiated_as_the_scraper_asks() -> None:
    async def scenario() -> None:
        r = await serve()
        try:
            plain, headers = await r.raw("/metrics", **{"Accept-Encoding": "identity"})
            assert "Content-Encoding" not in headers
            zipped, headers = await r.raw("/metrics", **{"Accept-Encoding": "gzip"})
            assert headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(zipped) == plain
            # What Prometheus sends: OpenMetrics preferred, the classic text as a fallback.
            accept = (
                "application/openmetrics-text;version=1.0.0;q=0.5,"
                "text/plain;version=0.0.4;q=0.4,*/*;q=0.1"
            )
            body, headers = await r.raw(
                "/metrics", Accept=accept, **{"Accept-Encoding": "identity"}
            )
            assert headers["Content-Type"].startswith("application/openmetrics-text")
            assert body.endswith(b"# EOF\n")
            assert b'scanner_account_controls{account_id="111111111111",status="FAIL"} 1.0' in body
        finally:
            await r.server.close()

    run(scenario())


def test_findings_page_through_an_opaque_cursor_and_filter_by_severity_and_ou() -> None:
    async def scenario() -> None:
        r = await serve()
        try:
            seen: list[tuple[str, str]] = []
            path: str | None = "/api/v1/findings?limit=1"
            while path is not None:
                status, body, _ = await r.get(path)
                assert status == 200, body
                page = json.loads(body)
                assert page["count"] == len(page["findings"]) == 1
                seen += [(f["account_id"], f["rule"]) for f in page["findings"]]
                path = page["next"]
            assert seen == [(A, "nacl-changes"), (A, "vpc-changes"), (B, "vpc-changes")]
            # The filters travel in the next link.
            _, body, _ = await r.get("/api/v1/findings?limit=1&account=" + A)
            page = json.loads(body)
            assert page["remaining"] == 1 and f"account={A}" in page["next"]
            _, body, _ = await r.get(page["next"])
            assert [f["rule"] for f in json.loads(body)["findings"]] == ["vpc-changes"]
            assert json.loads(body)["next"] is None

            def pairs(body: str) -> set[tuple[str, str]]:
                return {(f["account_id"], f["rule"]) for f in json.loads(body)["findings"]}

            _, body, _ = await r.get("/api/v1/findings?severity=CRITICAL")
            assert pairs(body) == {(B, "vpc-changes")}
            _, body, _ = await r.get("/api/v1/findings?ou=Workloads")  # the OU and below it
            assert pairs(body) == {(A, "vpc-changes"), (A, "nacl-changes")}
            _, body, _ = await r.get("/api/v1/findings?ou=Work")  # a path, not a prefix
            assert pairs(body) == set()
            for bad, message in (
                ("cursor=nonsense", "cursor: not one this server gave"),
                ("limit=0", "limit: a whole number from 1 to 1000"),
                ("limit=5000", "limit: a whole number from 1 to 1000"),
                ("severity=urgent", "unknown severity 'urgent'"),
            ):
                status, body, _ = await r.get(f"/api/v1/findings?{bad}")
                assert status == 400 and body.startswith(message), (bad, body)
                assert body.count("\n") == 1
        finally:
            await r.server.close()

    run(scenario())


def test_a_bearer_token_guards_the_api_and_is_reread_when_rotated(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")

    async def scenario() -> None:
        r = await serve(token)
        try:
            status, _, headers = await r.get("/api/v1/findings")
            assert status == 401
            assert headers["WWW-Authenticate"].startswith("Bearer")
            assert (await r.get("/api/v1/findings", token="wrong"))[0] == 401
            assert (await r.get("/api/v1/findings", token="s3cret"))[0] == 200
            token.write_text("rotated")
            assert (await r.get("/api/v1/findings", token="s3cret"))[0] == 401
            assert (await r.get("/api/v1/findings", token="rotated"))[0] == 200
            # Prometheus and probes stay open.
            assert (await r.get("/metrics"))[0] == 200
        finally:
            await r.server.close()

    run(scenario())


def test_a_finding_in_the_api_carries_the_pattern_it_judged() -> None:
    """The filter pattern the missed events were compared with, as the API's user reads it."""
    pattern = '{ ($.eventName = "CreateVpc") }'

    async def scenario() -> None:
        r = await serve()
        try:
            failing = dataclasses.replace(
                finding(A, "vpc-changes", Status.FAIL), patterns=(pattern,)
            )
            r.service.metrics.restore([failing], accounts=[AccountView(A, "a", "")])
            _, body, _ = await r.get(f"/api/v1/findings?account={A}&rule=vpc-changes")
            page = json.loads(body)
            (served,) = page["findings"]
            assert page["verdicts"][served["verdict"]]["patterns"] == [pattern]
            (full,) = expand(page)["findings"]
            assert full["patterns"] == [pattern]
        finally:
            await r.server.close()

    run(scenario())


def shared_chain(account: str, rule: str, trail: str) -> Finding:
    """A FAIL on the organization trail's chain (or a member's own): the chain and the fix are the
    trail's, whichever account the finding is about."""
    chain = (
        LinkResult(Link.TRAIL, LinkStatus.OK, f"arn:aws:cloudtrail:us-east-1:{A}:trail/{trail}"),
        LinkResult(
            Link.LOGGING, LinkStatus.BROKEN, f"arn:aws:cloudtrail:us-east-1:{A}:trail/{trail}"
        ),
    )
    return dataclasses.replace(
        finding(account, rule, Status.FAIL),
        broken_link=Link.LOGGING,
        chain=chain,
        remediation={"cli": f"aws cloudtrail start-logging --name {trail}"},
    )


def test_a_page_lists_the_verdicts_chains_and_fixes_its_findings_name_once() -> None:
    members = [f"{n:012d}" for n in range(300000000001, 300000000006)]
    findings = [shared_chain(m, "vpc-changes", "org-trail") for m in members]
    findings.append(shared_chain(members[0], "nacl-changes", "own-trail"))

    async def scenario() -> None:
        r = await serve()
        try:
            r.service.metrics.restore(findings)
            pages, url = [], "/api/v1/findings?limit=4"
            while url:
                status, body, _ = await r.get(url)
                assert status == 200
                pages.append(json.loads(body))
                url = pages[-1]["next"]
            assert [len(p["findings"]) for p in pages] == [4, 2]  # the cursor pages as before
            for page in pages:
                assert {f["verdict"] for f in page["findings"]} == set(page["verdicts"])
                verdicts = page["verdicts"].values()
                assert {v["chain"] for v in verdicts} == set(page["chains"])
                assert {v["remediation"] for v in verdicts} == set(page["fixes"])
                # A finding keeps what is its own; the rest is its verdict's.
                assert all(list(f) == list(OWN) for f in page["findings"])
                assert {f["account_id"] for f in page["findings"]} <= set(members)
            first, second = pages
            # Page 1: the member's own trail's verdict, then three members' findings on the
            # organization trail's, one verdict written once; page 2 stands alone: it lists the
            # organization trail's verdict, chain and fix again.
            assert [len(first[t]) for t in ("verdicts", "chains", "fixes")] == [2, 2, 2]
            assert [len(second[t]) for t in ("verdicts", "chains", "fixes")] == [1, 1, 1]
            assert set(second["verdicts"]) < set(first["verdicts"])
            assert set(second["chains"]) < set(first["chains"])
            # detail=full: the inline shape, page by page, and the next link keeps it.
            _, body, _ = await r.get("/api/v1/findings?limit=4&detail=full")
            full = json.loads(body)
            assert full["next"] == first["next"] + "&detail=full"
            assert expand(first) == {**full, "next": first["next"]}
            assert expand(second)["findings"] == [f.to_json() for f in findings[3:5]]
            assert not {"verdicts", "chains", "fixes"} & set(full)
            assert full["findings"][1] == findings[0].to_json()
            assert list(full["findings"][0]) == list(findings[5].to_json())  # the same order
            assert (await r.get("/api/v1/findings?detail=inline"))[0] == 400
        finally:
            await r.server.close()

    run(scenario())


def test_the_api_keeps_ids_and_a_few_recent_texts_and_nothing_stale() -> None:
    """What the daemon keeps after a walk of the API is the ids of the distinct verdicts, chains
    and fixes, what each is made from (objects the findings hold) and the last few hundred texts
    made, whatever the number of findings or distinct entries: a page makes what it lacks, and
    the same page is the same bytes again. The next scan's picture starts afresh."""
    members = [f"{n:012d}" for n in range(300000000001, 300000000401)]
    # 400 members, each with its own trail: 400 verdicts, chains and fixes, 1,200 texts.
    findings = [shared_chain(m, "vpc-changes", f"trail-{m}") for m in members]

    async def scenario() -> None:
        r = await serve()
        try:
            r.service.metrics.restore(findings)
            pages, url = [], "/api/v1/findings?limit=100"
            while url:
                _, body, _ = await r.get(url)
                pages.append(body)
                url = json.loads(body)["next"]
            encoded = r.service.metrics.state.picture.encoded
            assert len(encoded.verdicts) == len(encoded.chains) == len(encoded.fixes) == 400
            # Made from what each member's finding holds: no copy, no decoded entry.
            for held in findings:
                source = encoded.verdicts[encoded.named(held)["verdict"]]
                assert source.finding is held
                assert source.chain is not None and source.fix is not None
                assert encoded.chains[source.chain] is held.chain
                assert encoded.fixes[source.fix] is held.remediation
            assert not (encoded.tables.verdicts or encoded.tables.chains or encoded.tables.fixes)
            assert len(encoded.recent) == RECENT  # the last texts made, no more
            # Asked again, the first page (its texts long dropped) is the same bytes.
            assert (await r.get("/api/v1/findings?limit=100"))[1] == pages[0]
            _, body, _ = await r.get("/api/v1/findings?limit=1000&detail=full")
            assert json.loads(body)["findings"] == [f.to_json() for f in findings]
            assert len(encoded.recent) == RECENT
            # A new picture (the next scan) starts afresh: the changed finding is served as is.
            r.service.metrics.restore([finding(A, "nacl-changes", Status.FAIL)])
            _, body, _ = await r.get("/api/v1/findings")
            page = json.loads(body)
            assert [f["status"] for f in page["findings"]] == ["FAIL"]
            assert [v["reason"] for v in page["verdicts"].values()] == ["r"]
            assert not set(encoded.verdicts) & set(r.service.metrics.state.picture.encoded.verdicts)
        finally:
            await r.server.close()

    run(scenario())


def test_a_filtered_walk_pages_through_every_match_once_in_order() -> None:
    """Each page starts where the cursor left off (a bisection of the selection the filters
    made once per picture, not a test of every finding after the cursor for each page), counts
    what remains, and a new picture mid-walk is what the next page reads."""
    members = [f"{n:012d}" for n in range(300000000001, 300000000041)]
    findings = [shared_chain(m, "vpc-changes", "org-trail") for m in members]
    findings += [finding(m, "nacl-changes", Status.PASS) for m in members]

    async def scenario() -> None:
        r = await serve()
        try:
            r.service.metrics.restore(findings)
            seen: list[str] = []
            remaining: list[int] = []
            path: str | None = "/api/v1/findings?rule=vpc-changes&limit=7"
            while path is not None:
                _, body, _ = await r.get(path)
                page = json.loads(body)
                assert {f["rule"] for f in page["findings"]} == {"vpc-changes"}
                seen += [f["account_id"] for f in page["findings"]]
                remaining.append(page["remaining"])
                path = page["next"]
            assert seen == members
            assert remaining == [33, 26, 19, 12, 5, 0]
            _, body, _ = await r.get("/api/v1/findings?rule=vpc-changes&limit=30")
            following = json.loads(body)["next"]
            passed = [finding(m, "vpc-changes", Status.PASS) for m in members]
            r.service.metrics.restore(passed)  # the next scan: every member passes
            _, body, _ = await r.get(following)
            page = json.loads(body)
            assert [f["account_id"] for f in page["findings"]] == members[30:]
            assert {f["status"] for f in page["findings"]} == {"PASS"}
        finally:
            await r.server.close()

    run(scenario())
