"""The deployment files: systemd units, Dockerfile, compose and Kubernetes manifests.

No container engine runs here, so these check what can be checked offline: systemd's own
verifier, the YAML structure, the Dockerfile's hygiene, and that every shipped config loads.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import load_settings

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
    redis_cmd = " ".join(services["redis"]["command"])
    assert services["redis"]["image"].startswith("redis:7")
    for flag in ("--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction"):
        assert flag in redis_cmd
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    for role in ROLES:
        service = services[role]
        assert service["command"] == ["run", "--role", role]
        assert "ports" not in service, "published ports would break --scale"
        assert service["environment"]["TREATY_MONITOR_REDIS__URL"].startswith("redis://redis:")
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
