"""Issue 13.7: a clean distribution. The wheel is built from this checkout and installed, base only, into a fresh
venv outside the repository; the QA reviewer's commands work there without LlamaIndex, NumPy or Phoenix, and every
feature that needs an extra says which, in one sentence."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*command, cwd=None, timeout=240, **kwargs):
    return subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, REPO, timeout=300)
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("gxp_otel-*.whl")
    return path


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, wheel) -> Path:
    """A new venv (outside the repo) with the wheel and its base dependencies only."""
    root = tmp_path_factory.mktemp("fresh-venv")
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, timeout=480)
    assert installed.returncode == 0, installed.stderr
    return root / "venv" / "bin"


def test_the_wheel_ships_license_typing_marker_dashboards_and_the_example(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "gxp_otel/py.typed" in names
    assert "gxp_otel/examples/pharma_test_generation.py" in names
    assert any(n.startswith("gxp_otel/dashboards/") for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and "Classifier: Typing :: Typed" in metadata
    assert "Project-URL: Source" in metadata
    assert "Provides-Extra: llama-index" in metadata and "Provides-Extra: phoenix" in metadata


def test_base_install_verifies_and_reviews_a_trail_without_llamaindex_numpy_or_phoenix(fresh, tmp_path):
    from trail_helpers import traced

    trail = tmp_path / "trail"
    provider, _ = traced(trail)
    with provider.get_tracer("qa").start_as_current_span("batch-release"):
        pass
    provider.shutdown()
    python = fresh / "python"
    absent = _run(python, "-c", "import importlib.util as u; print([m for m in ('llama_index', 'numpy', 'phoenix', "
                  "'workflows', 'openinference') if u.find_spec(m)])", cwd=tmp_path)
    assert absent.stdout.strip() == "[]", absent.stderr
    assert _run(fresh / "gxp-otel", "--version", cwd=tmp_path).stdout.strip() == "gxp-otel 0.1.0"
    verified = _run(fresh / "gxp-otel", "verify", trail, "--json", cwd=tmp_path)
    assert verified.returncode == 0 and '"ok": true' in verified.stdout, verified.stdout + verified.stderr
    page = _run(fresh / "gxp-otel", "report", trail, "-o", tmp_path / "review.html", cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    assert (tmp_path / "review.html").stat().st_size > 1000


def test_a_missing_extra_is_one_sentence_naming_it(fresh, tmp_path):
    instrument = _run(fresh / "python", "-c", "import gxp_otel; gxp_otel.instrument()", cwd=tmp_path)
    assert instrument.returncode == 1
    last = instrument.stderr.strip().splitlines()[-1]
    assert last.startswith("gxp_otel.extras.MissingExtraError: gxp_otel.instrument() needs the gxp-otel[llama-index]")
    demo = _run(fresh / "gxp-otel", "demo", cwd=tmp_path)
    assert demo.returncode == 2 and "Traceback" not in demo.stderr
    assert demo.stderr.strip() == ("error: gxp-otel demo needs the gxp-otel[llama-index] extra, which is not "
                                   "installed (missing wrapt): pip install 'gxp-otel[llama-index]'")
    phoenix = _run(fresh / "gxp-otel", "phoenix", "start", cwd=tmp_path)
    assert phoenix.returncode == 2 and "gxp-otel[phoenix]" in phoenix.stderr and "Traceback" not in phoenix.stderr


def test_the_installed_demo_finds_the_example_shipped_in_the_package(fresh, tmp_path):
    found = _run(fresh / "python", "-c", "from gxp_otel.demo import find_example; print(find_example())", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    path = Path(found.stdout.strip())
    assert path.name == "pharma_test_generation.py" and REPO not in path.parents and "site-packages" in str(path)
