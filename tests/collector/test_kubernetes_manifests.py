"""The Kubernetes manifests of docs/kubernetes.md (deploy/kubernetes/): every document parses and is a complete
resource; every OpenTelemetryCollector's config validates with `otelcol-gxp validate` given exactly the variables
its spec.env defines; every mounted volume, claim and referenced secret or config map is declared or documented."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ingest_auth import OidcIssuer
from otelcol_process import OTELCOL, ROOT, require_build

pytestmark = pytest.mark.collector

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
DOC = (ROOT / "docs" / "kubernetes.md").read_text()
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def documents() -> list[tuple[str, dict]]:
    out = []
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                out.append((path.name, doc))
    return out


def collectors() -> list[tuple[str, dict]]:
    return [(f"{name}:{doc['metadata']['name']}", doc) for name, doc in documents()
            if doc["kind"] == "OpenTelemetryCollector"]


def test_every_manifest_is_a_complete_resource_and_the_doc_names_every_file() -> None:
    assert {p.name for p in MANIFESTS} >= {"namespaces.yaml", "gateways.yaml", "agent.yaml", "witness.yaml"}
    for name, doc in documents():
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), (name, doc)
    for path in MANIFESTS:
        assert f"deploy/kubernetes/{path.name}" in DOC, f"docs/kubernetes.md does not mention {path.name}"
    roles = {doc["metadata"]["labels"].get("gxp-otel/role") for _, doc in documents() if "labels" in doc["metadata"]}
    assert {"agent", "gateway", "witness"} <= roles


def test_volumes_claims_secrets_and_config_maps_are_declared_or_documented() -> None:
    claims = {doc["metadata"]["name"] for _, doc in documents() if doc["kind"] == "PersistentVolumeClaim"}
    for name, doc in documents():
        spec = doc.get("spec", {})
        if doc["kind"] == "Deployment":
            spec = {**spec["template"]["spec"], "volumeMounts": [m for c in spec["template"]["spec"]["containers"]
                                                                  for m in c.get("volumeMounts", [])]}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        templates = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
        for mount in spec.get("volumeMounts", []):
            assert mount["name"] in volumes or mount["name"] in templates, (name, mount)
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, (name, volume)
            if "secret" in volume:
                assert f"`{volume['secret']['secretName']}`" in DOC, volume
            if "configMap" in volume:
                assert f"`{volume['configMap']['name']}`" in DOC, volume


@pytest.mark.parametrize("name,doc", collectors(), ids=[n for n, _ in collectors()])
def test_every_collector_resource_validates_with_its_own_environment(name: str, doc: dict, tmp_path: Path) -> None:
    require_build()
    config = yaml.safe_dump(doc["spec"]["config"])
    defined = {e["name"]: e.get("value", "") for e in doc["spec"].get("env", [])}
    required = {m.group(1) for m in ENV_REF.finditer(config) if m.group(2) is None}
    assert required <= defined.keys(), f"{name}: spec.env lacks {sorted(required - defined.keys())}"
    # The resource's files live in its volumes; validate against local stand-ins at the same places.
    issuer = OidcIssuer(tmp_path / "oidc")
    config = config.replace("/etc/gxp/oidc/jwks.json", str(issuer.jwks_file))
    defined = {k: (str(issuer.jwks_file) if v == "/etc/gxp/oidc/jwks.json" else v) for k, v in defined.items()}
    path = tmp_path / "config.yaml"
    path.write_text(config)
    done = subprocess.run([str(OTELCOL), "validate", "--config", str(path)], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], **defined}, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
