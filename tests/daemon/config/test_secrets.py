"""Secrets: read from a file or a variable when used, checked at load, never kept in the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.daemon import config as cfg


def test_secrets_are_read_when_used_never_kept_in_the_config(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("first\n")
    token = tmp_path / "token"
    token.write_text("t0ken")
    text = f"""
http: {{bearer_token_file: {token}}}
alerts:
  webhooks:
    - {{name: hook, url: "https://example.com/in", secret_file: {secret}}}
  slack:
    - {{url_env: SLACK_URL}}
  alertmanager:
    - {{url: "http://127.0.0.1:9093"}}
"""
    env = {"SLACK_URL": "https://hooks.slack.test/T000/B000/tok3n9"}
    config = cfg.parse(text, env)
    hook, slack = config.alerts.webhooks[0], config.alerts.slack[0]
    assert hook.read_secret() == b"first"
    secret.write_text("rotated")
    assert hook.read_secret() == b"rotated"
    assert slack.read_url(env) == env["SLACK_URL"]
    assert config.http.read_token() == "t0ken"
    assert [t.name for t in config.alerts.targets] == ["hook", "slack-0", "alertmanager-0"]
    assert "rotated" not in repr(config) and "tok3n9" not in repr(config)


def test_a_secret_that_cannot_be_read_stops_the_daemon_at_start(tmp_path: Path) -> None:
    text = f"alerts:\n  webhooks:\n    - {{url: 'https://e.com', secret_file: {tmp_path}/no}}\n"
    with pytest.raises(cfg.ConfigError, match=r"alerts.webhooks\[0\]: secret_file .* cannot be"):
        cfg.parse(text, {})


def test_a_webhook_url_may_come_from_a_secret_file_too(tmp_path: Path) -> None:
    url = tmp_path / "url"
    url.write_text("https://hooks.example.com/in?token=s3cr3t\n")
    secret = tmp_path / "secret"
    secret.write_text("hmac")
    text = f"alerts:\n  webhooks:\n    - {{name: h, url_file: {url}, secret_file: {secret}}}\n"
    hook = cfg.parse(text, {}).alerts.webhooks[0]
    assert hook.read_url() == "https://hooks.example.com/in?token=s3cr3t"
    assert "s3cr3t" not in repr(hook)
    with pytest.raises(cfg.ConfigError, match=r"alerts\.webhooks\[0\]: give exactly one of url"):
        cfg.parse(f"alerts:\n  webhooks:\n    - {{name: h, secret_file: {secret}}}\n", {})
