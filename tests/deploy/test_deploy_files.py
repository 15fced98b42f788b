"""deploy/ cannot run here (no Docker engine, no cluster): these tests check what can be
checked without one. Every file parses, the environment variables name real config keys,
probes name real routes, grace periods cover the drain, selectors match, and haproxy
itself accepts its configuration."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from voicebot.config import load_config
from voicebot.web.health_routes import make_health_router

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def k8s(kind: str) -> dict[str, Any]:
    found = [d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in docs(p)
             if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}"
    return found[0]


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.y*ml")), ids=lambda p: p.name)
def test_every_yaml_file_parses(path: Path) -> None:
    assert docs(path)


def compose() -> dict[str, Any]:
    return docs(DEPLOY / "docker-compose.yml")[0]


def test_compose_runs_the_whole_stack() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "voicebot", "haproxy", "prometheus"}
    assert services["voicebot"]["deploy"]["replicas"] >= 2
    assert "/readyz" in str(services["voicebot"]["healthcheck"]["test"])


def resolved_env(env: dict[str, str]) -> dict[str, str]:
    # ${VAR:-default} and ${VAR:?msg} as compose would expand them with nothing set.
    def expand(value: str) -> str:
        return re.sub(r"\$\{\w+(?::-([^}]*)|:\?[^}]*)\}", lambda m: m.group(1) or "x", value)

    return {k: expand(str(v)) for k, v in env.items()}


def test_compose_environment_names_real_config_keys() -> None:
    worker = compose()["services"]["voicebot"]
    config = load_config(ROOT / "config.yaml", environ=resolved_env(worker["environment"]))
    assert config.store.url is not None and config.store.url.startswith("postgresql://")
    assert config.cluster.redis_url == "redis://redis:6379/0"
    grace = _seconds(worker["stop_grace_period"])
    assert grace > config.server.shutdown_grace_s  # docker must not cut the drain short


def test_kubernetes_env_names_real_config_keys_and_probes_real_routes() -> None:
    pod = k8s("Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    environ = {e["name"]: e.get("value", "x") for e in container["env"]}
    environ["VOICEBOT_STORE__URL"] = "postgresql://u@h/db"
    environ["VOICEBOT_CLUSTER__REDIS_URL"] = "redis://r:6379/0"
    config = load_config(ROOT / "config.yaml", environ=environ)
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > config.server.shutdown_grace_s + pre_stop
    paths = {container["readinessProbe"]["httpGet"]["path"],
             container["livenessProbe"]["httpGet"]["path"]}
    assert paths == {"/readyz", "/livez"}


def test_probed_routes_answer_and_readiness_follows_the_drain() -> None:
    services = SimpleNamespace(ready=True, draining=False, active_calls=2, calls=None)
    app = FastAPI()
    app.include_router(make_health_router(services))
    client = TestClient(app)
    assert client.get("/readyz").status_code == 200
    assert client.get("/livez").status_code == 200
    services.draining = True  # SIGTERM: the load balancer must stop sending calls
    assert client.get("/readyz").json() == {
        "ready": False, "loaded": True, "accepting": False, "directory": True,
        "active_calls": 2}
    assert client.get("/readyz").status_code == 503
    assert client.get("/livez").status_code == 200  # draining is not dead


def test_kubernetes_selectors_match_the_pods() -> None:
    labels = k8s("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert k8s("Service")["spec"]["selector"].items() <= labels.items()
    assert k8s("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert k8s("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_haproxy_accepts_its_configuration_and_checks_readiness() -> None:
    cfg = DEPLOY / "haproxy.cfg"
    result = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "option httpchk GET /readyz" in cfg.read_text()


def test_the_image_runs_voicebot_serve() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert '"voicebot", "serve"' in dockerfile and "8080" in dockerfile


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)s", value)
    assert match, value
    return float(match.group(1))
