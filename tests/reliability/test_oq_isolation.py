"""OQ evidence cannot be faked (issue 14.8): a conftest.py in an ancestor directory of the installed package is never
loaded, every plugin pytest loaded is in the evidence, and the installed files are checked against the wheel's
manifest (RECORD). The package is installed the way pip installs a wheel (files plus a dist-info RECORD) into a
directory of its own, and `gxp-otel oq` runs there in a real second process."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

import gxp_otel

FORGER = """
import pathlib
import pytest

pathlib.Path(__file__).with_name("forger-was-loaded").write_text("yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"  # every test "passes", whatever the installed code does
"""


def _install(site: Path) -> Path:
    """Copy the package into ``site`` with a dist-info whose RECORD lists each file's sha256, as pip does."""
    package = site / "gxp_otel"
    shutil.copytree(Path(gxp_otel.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return package


def _write_record(site: Path) -> None:
    dist_info = site / "gxp_otel-0.1.0.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.3\nName: gxp-otel\nVersion: 0.1.0\n")
    lines = []
    for path in sorted((site / "gxp_otel").rglob("*")):
        if path.is_file():
            digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
            lines.append(f"{path.relative_to(site).as_posix()},sha256={digest},{path.stat().st_size}")
    lines += ["gxp_otel-0.1.0.dist-info/METADATA,,", "gxp_otel-0.1.0.dist-info/RECORD,,"]
    (dist_info / "RECORD").write_text("\n".join(lines) + "\n")


def _oq(site: Path, out: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, "-m", "gxp_otel.cli", "oq", "--output", str(out)], cwd=site, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    evidence = orjson.loads((out / "oq-evidence.json").read_bytes())
    assert Path(evidence["installation"]["package_dir"]) == site / "gxp_otel"  # the copy ran, not the source tree
    return evidence


@pytest.fixture
def site(tmp_path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    _install(site)
    return site


def test_a_conftest_in_an_ancestor_of_the_installed_package_cannot_make_a_broken_installation_pass(site, tmp_path):
    esign = site / "gxp_otel" / "part11" / "esign.py"
    esign.write_text(esign.read_text() + "\n\ndef sign(*args, **kwargs):\n    raise RuntimeError('broken')\n")
    _write_record(site)  # the manifest matches the broken files: only the tests can tell
    for ancestor in (site, tmp_path):  # ancestors of the installed package (and of the working directory)
        (ancestor / "conftest.py").write_text(FORGER)
    evidence = _oq(site, tmp_path / "out")
    assert not any(p.name == "forger-was-loaded" for p in tmp_path.rglob("forger-was-loaded"))
    assert evidence["result"] == "FAIL"
    failed = {t["test"] for t in evidence["tests"] if t["outcome"] == "failed"}
    assert "test_oq_part11.py::test_signature_shows_name_time_and_meaning_and_verifies" in failed
    assert evidence["installation"]["status"] == "verified"
    assert evidence["plugins"] and all(p["trusted"] == "yes" for p in evidence["plugins"])
    assert not any("conftest" in p["file"] and "oq_suite" not in p["file"] for p in evidence["plugins"])


def test_installed_files_are_checked_against_the_wheels_manifest(site, tmp_path):
    _write_record(site)
    intact = _oq(site, tmp_path / "intact")
    assert intact["installation"]["status"] == "verified" and intact["result"] == "PASS", intact["tests"]
    canonical = site / "gxp_otel" / "audit" / "canonical.py"
    canonical.write_text(canonical.read_text() + "\n# edited after installation\n")
    (site / "gxp_otel" / "extra.py").write_text("")
    changed = _oq(site, tmp_path / "changed")
    assert changed["result"] == "FAIL" and changed["installation"]["status"] == "mismatch"
    assert changed["installation"]["problems"] == ["changed: audit/canonical.py",
                                                   "not in the wheel's manifest: extra.py"]
    assert "mismatch" in (tmp_path / "changed" / "oq-evidence.html").read_text()
