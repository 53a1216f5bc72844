"""The deployment files: systemd units, Dockerfile, compose and Kubernetes manifests.

No container engine runs here, so these check what can be checked offline: systemd's own
verifier, the YAML structure, the Dockerfile's hygiene, and that every shipped config loads.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from monitor.config import load_settings
from monitor.connections import redis_server_binary
from tests.ops_servers import free_port

ROLES = ("fetcher", "engine", "notifier")


@pytest.fixture
def deploy(repo_root: Path) -> Path:
    """The deploy/ folder."""
    return repo_root / "deploy"


def unit(path: Path) -> configparser.ConfigParser:
    """A systemd unit read as INI (repeated keys keep the last value)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


@pytest.mark.parametrize("name", ["treaty-monitor.service", "treaty-monitor@.service"])
def test_units_are_notify_services_with_watchdog_and_sandbox(deploy: Path, name: str) -> None:
    """Type=notify, a watchdog, SIGHUP reload and Miniflux-style hardening."""
    service = unit(deploy / "systemd" / name)["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert re.fullmatch(r"\d+s", service["WatchdogSec"])
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillMode"] == "mixed"
    for key, value in {
        "ProtectSystem": "strict", "ProtectHome": "yes", "NoNewPrivileges": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "StateDirectory": "treaty-monitor",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet": "",
    }.items():  # fmt: skip
        assert service[key].startswith(value), key
    assert "DynamicUser" in service or service.get("User") == "treaty-monitor"
    role = "--role %i" in service["ExecStart"]
    assert role == name.endswith("@.service")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_analyze_verify_finds_nothing_to_complain_about(
    deploy: Path, tmp_path: Path
) -> None:
    """systemd's verifier accepts every unit (ExecStart pointed at an installed binary)."""
    binary = Path(sys.executable).with_name("treaty-monitor")
    for source in (deploy / "systemd").glob("treaty-monitor*"):
        text = source.read_text().replace("/opt/treaty-monitor/bin/treaty-monitor", str(binary))
        (tmp_path / source.name).write_text(text)
    names = ["treaty-monitor.service", "treaty-monitor@fetcher.service"]
    names.append("treaty-monitor-roles.target")
    result = subprocess.run(
        ["systemd-analyze", "verify", *(f"./{n}" for n in names)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if str(tmp_path) in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == []


def load_yaml(path: Path) -> list[Any]:
    """Every document of a YAML file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def test_compose_runs_redis_with_aof_and_noeviction_and_one_service_per_role(
    deploy: Path,
) -> None:
    """Redis keeps an fsynced AOF and never evicts; each role is its own scalable service."""
    [compose] = load_yaml(deploy / "compose.yaml")
    services = compose["services"]
    redis_cmd = " ".join(services["redis"]["command"]).replace('"', "")
    assert services["redis"]["image"].startswith("redis:7")
    for flag in ("--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction",
                 "--maxmemory $$REDIS_MAXMEMORY", "--requirepass $$REDIS_PASSWORD"):  # fmt: skip
        assert flag in redis_cmd
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    for role in ROLES:
        service = services[role]
        assert service["command"] == ["run", "--role", role]
        assert "ports" not in service, "published ports would break --scale"
        url = service["environment"]["TREATY_MONITOR_REDIS__URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD:?")
        assert url.endswith("@redis:6379/0")
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]


def test_kubernetes_manifest_has_a_hardened_deployment_per_role(deploy: Path) -> None:
    """Each role runs non-root, read-only, with liveness on /healthz and readiness on /readyz."""
    docs = load_yaml(deploy / "kubernetes" / "treaty-monitor.yaml")
    assert all({"apiVersion", "kind", "metadata"} <= set(doc) for doc in docs)
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {f"treaty-monitor-{role}" for role in ROLES}
    for role in ROLES:
        spec = deployments[f"treaty-monitor-{role}"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        pod = spec["template"]["spec"]
        [container] = pod["containers"]
        assert container["args"] == ["run", "--role", role]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    [redis] = [d for d in docs if d["kind"] == "StatefulSet"]
    args = " ".join(redis["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "--appendonly yes" in args
    assert "--maxmemory-policy noeviction" in args


def test_every_shipped_config_loads(deploy: Path, tmp_path: Path) -> None:
    """The image's default config and the Kubernetes ConfigMap's config are valid settings."""
    docs = load_yaml(deploy / "kubernetes" / "treaty-monitor.yaml")
    [configmap] = [d for d in docs if d["kind"] == "ConfigMap"]
    k8s = tmp_path / "k8s.toml"
    k8s.write_text(configmap["data"]["config.toml"])
    for path in (deploy / "config.toml", k8s):
        settings = load_settings(path)
        assert settings.http.listen == "0.0.0.0:9464"
        assert settings.state_dir == Path("/var/lib/treaty-monitor")
        assert settings.rules.dirs == (Path("/etc/treaty-monitor/rules"),)


def dockerfile_stages(path: Path) -> list[list[tuple[str, str]]]:
    """Instructions (KEYWORD, arguments) per build stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, args = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), args.strip()))
    return stages


def test_dockerfile_builds_wheels_apart_and_runs_unprivileged(deploy: Path) -> None:
    """Multi-stage on python:3.11-slim, non-root USER, HEALTHCHECK on /healthz, state volume."""
    path = deploy / "Dockerfile"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in path.read_text()
    build, runtime = dockerfile_stages(path)
    assert build[0] == ("FROM", "${PYTHON_IMAGE} AS build")
    assert runtime[0][1].startswith("${PYTHON_IMAGE}")
    keywords = dict(runtime)
    user = keywords["USER"].split(":")[0]
    assert user.isdigit()
    assert int(user) >= 1000
    assert "/healthz" in keywords["HEALTHCHECK"]
    assert "/var/lib/treaty-monitor" in keywords["VOLUME"]
    assert keywords["ENTRYPOINT"] == '["treaty-monitor"]'
    every = [i for stage in (build, runtime) for i in stage]
    assert not [args for kw, args in every if kw == "ADD"], "COPY, not ADD"
    for kw, args in every:
        if kw == "RUN" and "apt-get install" in args:
            assert "--no-install-recommends" in args
            assert "rm -rf /var/lib/apt/lists" in args
        if kw == "RUN" and re.search(r"\bpip (install|wheel)\b", args):
            assert "--no-cache-dir" in args


PASSWORD = "4c1d-not-a-real-password"


@contextlib.contextmanager
def redis_running(argv: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    """Run a deploy file's redis-server command (on loopback, ``port``) until the block ends."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()


def assert_guarded(port: int, maxmemory: int) -> None:
    """The server on ``port`` wants the password, has a memory limit and never evicts."""
    with (
        redis.Redis(host="127.0.0.1", port=port) as stranger,
        pytest.raises(redis.AuthenticationError),
    ):
        stranger.ping()
    with redis.Redis(
        host="127.0.0.1", port=port, password=PASSWORD, decode_responses=True
    ) as client:
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("maxmemory") == {"maxmemory": str(maxmemory)}


def test_compose_redis_runs_with_a_password_from_the_environment_and_a_memory_limit(
    deploy: Path, tmp_path: Path
) -> None:
    """The compose redis command, run as its container would (sh, $$ unescaped), refuses
    clients without the password, has maxmemory and noeviction; its healthcheck sees PONG."""
    [compose] = load_yaml(deploy / "compose.yaml")
    redis_service = compose["services"]["redis"]
    assert redis_service["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    assert PASSWORD not in (deploy / "compose.yaml").read_text()
    shell, flag, script = redis_service["command"]
    port = free_port()
    script = script.replace("$$", "$").replace("redis-server", redis_server_binary(), 1)
    script += f" --port {port} --bind 127.0.0.1 --dir {tmp_path}"
    env = {"PATH": os.environ["PATH"], "REDIS_PASSWORD": PASSWORD, "REDIS_MAXMEMORY": "64mb"}
    with redis_running([shell, flag, script], env, port):
        assert_guarded(port, 64 * 1024 * 1024)
        kind, probe = redis_service["healthcheck"]["test"]
        assert kind == "CMD-SHELL"
        probe = probe.replace("$$", "$").replace("redis-cli", f"redis-cli -p {port}")
        path = f"{Path(redis_server_binary()).parent}:{os.environ['PATH']}"
        for password, healthy in ((PASSWORD, True), ("wrong", False)):
            result = subprocess.run(
                ["sh", "-c", probe], env={"PATH": path, "REDIS_PASSWORD": password},
                capture_output=True, timeout=20, check=False,
            )  # fmt: skip
            assert (result.returncode == 0) is healthy


def _k8s(deploy: Path) -> list[dict[str, Any]]:
    return load_yaml(deploy / "kubernetes" / "treaty-monitor.yaml")


def _secret_ref(env: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [var] = [v for v in env if v["name"] == name]
    return dict(var["valueFrom"]["secretKeyRef"])


def test_kubernetes_redis_runs_with_the_secret_password_and_a_memory_limit(
    deploy: Path, tmp_path: Path
) -> None:
    """The StatefulSet's redis args (with $(REDIS_PASSWORD) expanded as Kubernetes does) give a
    server that wants the password, has maxmemory and noeviction; the password is a Secret's."""
    docs = _k8s(deploy)
    assert not [d for d in docs if d["kind"] == "Secret"], "secrets are created with kubectl"
    [redis_set] = [d for d in docs if d["kind"] == "StatefulSet"]
    [container] = redis_set["spec"]["template"]["spec"]["containers"]
    secret = {"name": "treaty-monitor-redis", "key": "password"}
    assert _secret_ref(container["env"], "REDIS_PASSWORD") == secret
    assert _secret_ref(container["env"], "REDISCLI_AUTH") == secret
    port = free_port()
    args = [a.replace("$(REDIS_PASSWORD)", PASSWORD) for a in container["args"]]
    argv = [redis_server_binary(), *args, "--port", str(port), "--bind", "127.0.0.1"]
    with redis_running([*argv, "--dir", str(tmp_path)], {}, port):
        assert_guarded(port, 768 * 1024 * 1024)


def test_kubernetes_roles_reach_redis_with_the_secret_password(deploy: Path) -> None:
    """Each Deployment takes the password from the Secret into its Redis URL, never inline."""
    docs = _k8s(deploy)
    [configmap] = [d for d in docs if d["kind"] == "ConfigMap"]
    assert "url =" not in configmap["data"]["config.toml"].partition("[redis]")[2].split("[")[0]
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = container["env"]
        assert _secret_ref(env, "REDIS_PASSWORD") == {"name": "treaty-monitor-redis",
                                                      "key": "password"}  # fmt: skip
        names = [v["name"] for v in env]
        # $(VAR) expands only variables defined earlier in the list.
        assert names.index("REDIS_PASSWORD") < names.index("TREATY_MONITOR_REDIS__URL")
        [url] = [v["value"] for v in env if v["name"] == "TREATY_MONITOR_REDIS__URL"]
        assert url == "redis://:$(REDIS_PASSWORD)@treaty-monitor-redis:6379/0"


def test_kubernetes_network_policies_fence_redis_and_the_monitor(deploy: Path) -> None:
    """Redis takes connections from treaty-monitor pods on 6379 only and makes none; monitor
    pods reach DNS, Redis and the outside on web and mail ports, never link-local metadata."""
    docs = _k8s(deploy)
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    monitor_pods = {"app.kubernetes.io/name": "treaty-monitor"}
    redis_policy = policies["treaty-monitor-redis"]
    assert redis_policy["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "treaty-monitor-redis"
    }
    assert sorted(redis_policy["policyTypes"]) == ["Egress", "Ingress"]
    [rule] = redis_policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": monitor_pods}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]
    assert redis_policy["egress"] == []
    monitor = policies["treaty-monitor"]
    assert monitor["podSelector"]["matchLabels"] == monitor_pods
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert monitor_pods.items() <= labels.items()
    assert [r["ports"] for r in monitor["ingress"]] == [[{"protocol": "TCP", "port": 9464}]]
    egress_ports = {p["port"] for r in monitor["egress"] for p in r["ports"]}
    assert {53, 6379, 443} <= egress_ports
    blocks = [t["ipBlock"] for r in monitor["egress"] for t in r["to"] if "ipBlock" in t]
    assert blocks
    for block in blocks:
        if block["cidr"] == "0.0.0.0/0":
            assert "169.254.0.0/16" in block["except"]
