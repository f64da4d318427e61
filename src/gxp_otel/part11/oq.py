"""``gxp-otel oq``: operational qualification on the user's machine, with evidence (GAMP 5 OQ; Annex 11 §4).

Runs the OQ suite shipped in the package (``gxp_otel/part11/oq_suite``) with pytest against the *installed* code,
then writes ``oq-evidence.json`` (canonical JSON) and ``oq-evidence.html``: environment, versions, the sha256 of every
installed package file (installation evidence), each clause with its tests and their outcome. Given a signer key,
``oq-evidence.sig.json`` holds an Ed25519 signature (meaning ``authorship``) over the evidence file's sha256.
The run is isolated, so foreign code cannot fake the evidence: plugin autoloading is off (and ``PYTEST_PLUGINS`` /
``PYTEST_ADDOPTS`` are cleared), the user's pytest configuration is ignored (``-c`` an empty ini, ``--rootdir`` the
suite), no ``conftest.py`` is loaded at all (``--noconftest``: one in an ancestor directory of the installed package
cannot rewrite outcomes; the suite's own fixtures are loaded as the plugin module
``gxp_otel.part11.oq_suite.conftest``). The evidence records every plugin pytest actually had registered, with its
file and sha256, and the run FAILs when one is not part of pytest, pluggy or gxp-otel. The installed files are
checked against the manifest shipped in the wheel (the distribution's ``RECORD``, sha256 per file): a changed,
missing or unlisted file FAILs the installation; an editable install has no such manifest and says so.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.metadata as metadata
import os
import platform
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gxp_otel.audit.canonical import canonical_json, format_time_ns
from gxp_otel.part11.statements import verify_ed25519

OQ_FORMAT = "gxp-otel-oq/1"
OQ_SIGNATURE_DOMAIN = b"gxp-otel:oq-evidence:v1\x00"
SUITE = Path(__file__).with_name("oq_suite")
_T = "test_oq_trail.py::"
_P = "test_oq_part11.py::"
DISTRIBUTIONS = ("gxp-otel", "cryptography", "orjson", "rfc8785", "opentelemetry-api", "opentelemetry-sdk",
                 "typer", "pytest")


@dataclass(frozen=True)
class Clause:
    ref: str
    requirement: str
    tests: tuple[str, ...]


CLAUSES = (
    Clause("21 CFR 11.10(a) / Annex 11 §4", "validation: the installed system performs as intended (this OQ)",
           (_T + "test_trail_verifies_with_signed_checkpoints_under_the_trusted_key",)),
    Clause("21 CFR 11.10(b) / Annex 11 §8.1", "accurate and complete copies in human-readable and electronic form",
           (_T + "test_verify_prints_a_readable_report_and_exact_json",)),
    Clause("21 CFR 11.10(c) / Annex 11 §7.1", "records protected; alteration, deletion and truncation detected",
           (_T + "test_a_modified_record_is_detected", _T + "test_a_deleted_record_is_detected",
            _T + "test_a_cut_tail_is_detected_from_a_checkpoint_held_elsewhere",
            _T + "test_a_chain_resealed_with_another_key_is_untrusted")),
    Clause("21 CFR 11.10(d) / Annex 11 §12.1", "access to the trail limited to the writer's account (0700/0600)",
           (_T + "test_trail_files_are_private_to_the_writer",)),
    Clause("21 CFR 11.10(e) / Annex 11 §9",
           "secure, time-stamped audit trail; changes keep previous values, with reason",
           (_T + "test_records_are_attributed_and_time_stamped_in_utc",
            _P + "test_a_correction_keeps_the_original_and_needs_a_reason")),
    Clause("21 CFR 11.50 / Annex 11 §14", "signature manifestation: printed name, date and time, meaning",
           (_P + "test_signature_shows_name_time_and_meaning_and_verifies",)),
    Clause("21 CFR 11.70", "signatures linked to their records; cannot be excised, copied or transferred",
           (_P + "test_a_signature_cannot_be_transferred_to_another_record",)),
    Clause("21 CFR 11.100", "each signature unique to one individual (registered key and identity)",
           (_P + "test_a_key_cannot_sign_as_another_registered_individual",)),
    Clause("21 CFR 11.200(a)", "two distinct identification components (user id and passphrase)",
           (_P + "test_signing_needs_user_id_and_passphrase",)),
    Clause("Annex 11 §17 / ICH E6(R3)", "retention, legal hold, purge only with a signed, verifiable tombstone",
           (_P + "test_purge_respects_legal_hold_and_leaves_a_verifiable_tombstone",)),
    Clause("ALCOA+ (Complete, Attributable, Original, Enduring, ...)", "per-record ALCOA+ findings; losses recorded",
           (_T + "test_alcoa_findings_are_computed_for_every_record",
            _T + "test_losses_before_the_trail_are_recorded_as_gaps")),
)


class PytestMissing(RuntimeError):
    """pytest is not installed: the OQ cannot run (install the ``dev`` extra: ``pip install 'gxp-otel[dev]'``)."""


def _record_sha256(file: Any) -> str | None:
    """The sha256 hex of a RECORD entry (``sha256=<urlsafe base64>``), or None when it has none."""
    if file.hash is None or file.hash.mode != "sha256":
        return None
    value = file.hash.value
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()


def _manifest(root: Path) -> dict[str, str] | None:
    """``{path inside the package: sha256}`` from the installed distribution's RECORD, when it lists the package
    files at ``root`` (a wheel install); None otherwise (an editable or unpackaged copy)."""
    try:
        dist = metadata.distribution("gxp-otel")
    except metadata.PackageNotFoundError:
        return None
    listed = {}
    for file in dist.files or []:
        try:
            located = Path(dist.locate_file(file)).resolve()
            inside = located.relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
        digest = _record_sha256(file)
        if digest is not None and not inside.endswith(".pyc"):
            listed[inside] = digest
    return listed or None


def installation_evidence() -> dict[str, Any]:
    """The sha256 of every file of the installed ``gxp_otel`` package (bytecode caches excluded), their digest, and
    the check against the wheel's manifest: ``status`` is ``verified``, ``mismatch`` (``problems`` names each
    changed, missing or unlisted file) or ``no manifest`` (an editable install)."""
    import gxp_otel

    root = Path(gxp_otel.__file__).parent
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append({"path": path.relative_to(root).as_posix(),
                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    digest = hashlib.sha256(canonical_json(files)).hexdigest()
    manifest = _manifest(root)
    problems: list[str] = []
    if manifest is None:
        status = "no manifest (not installed from a wheel: editable or copied); files not checked"
    else:
        actual = {f["path"]: f["sha256"] for f in files}
        problems += [f"changed: {p}" for p in sorted(actual) if p in manifest and manifest[p] != actual[p]]
        problems += [f"missing: {p}" for p in sorted(manifest) if p not in actual]
        problems += [f"not in the wheel's manifest: {p}" for p in sorted(actual) if p not in manifest]
        status = "mismatch" if problems else "verified"
    return {"package_dir": str(root), "files": files, "digest": digest, "status": status, "problems": problems}


def _allowed_plugin_roots() -> list[Path]:
    import _pytest
    import pluggy
    import pytest

    import gxp_otel

    return [Path(m.__file__).resolve().parent for m in (_pytest, pluggy, pytest, gxp_otel)]


def _plugin_file(plugin: Any) -> str | None:
    module = plugin if hasattr(plugin, "__file__") else sys.modules.get(type(plugin).__module__)
    return getattr(module, "__file__", None)


def environment() -> dict[str, Any]:
    versions = {}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "executable": sys.executable, "platform": platform.platform(), "machine": platform.machine(),
            "host": socket.gethostname(), "user": _user(), "cwd": os.getcwd(), "versions": versions}


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "")


class _Outcomes:
    """A pytest plugin collecting each test's outcome (the call phase, or the failing setup/teardown) and, once the
    session starts, every plugin pytest has registered (conftest modules included) with its file and sha256."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}
        self.plugins: list[dict[str, str]] = []

    def pytest_sessionstart(self, session) -> None:  # noqa: D401 (pytest hook)
        roots = _allowed_plugin_roots()
        for name, plugin in session.config.pluginmanager.list_name_plugin():
            if plugin is None or plugin is self:
                continue
            file = _plugin_file(plugin)
            entry = {"name": str(name), "file": file or "", "sha256": "", "trusted": "no"}
            if file and os.path.isfile(file):
                resolved = Path(file).resolve()
                entry["sha256"] = hashlib.sha256(resolved.read_bytes()).hexdigest()
                entry["trusted"] = "yes" if any(resolved.is_relative_to(r) for r in roots) else "no"
            elif not file and type(plugin).__module__.split(".")[0] in ("_pytest", "pytest", "pluggy"):
                entry["trusted"] = "yes"  # a built-in object plugin (e.g. the terminal reporter)
            self.plugins.append(entry)

    def pytest_runtest_logreport(self, report) -> None:  # noqa: D401 (pytest hook)
        name = report.nodeid.split("oq_suite/")[-1]
        entry = self.results.setdefault(name, {"outcome": "passed", "seconds": 0.0, "message": ""})
        entry["seconds"] = round(entry["seconds"] + report.duration, 3)
        if report.failed:
            entry["outcome"] = "failed"
            entry["message"] = str(report.longrepr)[-2000:]
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"


_SCRUBBED = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


def run_suite(work_dir: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """Run the suite isolated (see the module docstring); the outcomes and the plugins that were loaded."""
    try:
        import pytest
    except ImportError:
        raise PytestMissing("pytest is not installed: `pip install 'gxp-otel[dev]'` (or `pip install pytest`), "
                            "then run `gxp-otel oq` again") from None
    ini = work_dir / "oq-pytest.ini"
    ini.write_text("[pytest]\n")
    outcomes = _Outcomes()
    saved = {name: os.environ.get(name) for name in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", *_SCRUBBED)}
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    for name in _SCRUBBED:
        os.environ.pop(name, None)
    try:
        pytest.main([str(SUITE), "-c", str(ini), "--rootdir", str(SUITE), "--confcutdir", str(SUITE),
                     "--noconftest", "-p", "gxp_otel.part11.oq_suite.conftest", "-q", "-p", "no:cacheprovider",
                     "--basetemp", str(work_dir / "tmp"), "-o", "console_output_style=classic"],
                    plugins=[outcomes])
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return outcomes.results, outcomes.plugins


def evaluate(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    clauses = []
    for clause in CLAUSES:
        tests = [{"test": t, **results.get(t, {"outcome": "not run", "seconds": 0.0, "message": ""})}
                 for t in clause.tests]
        passed = all(t["outcome"] == "passed" for t in tests)
        clauses.append({"clause": clause.ref, "requirement": clause.requirement, "tests": tests,
                        "result": "PASS" if passed else "FAIL"})
    return clauses


def run_oq(output: Path, *, signer: Any = None, user_id: str | None = None, passphrase: str | None = None) -> dict:
    """Run the OQ and write the evidence into ``output``; returns the evidence. ``signer`` is a ``SignerKey``."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    private = signer.unlock(user_id or "", passphrase or "") if signer is not None else None
    started, clock = time.time_ns(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gxp-otel-oq-") as work:
        results, plugins = run_suite(Path(work))
    clauses = evaluate(results)
    installation = installation_evidence()
    passed = (results and all(c["result"] == "PASS" for c in clauses)
              and all(r["outcome"] == "passed" for r in results.values())
              and all(p["trusted"] == "yes" for p in plugins) and installation["status"] != "mismatch")
    evidence = {
        "format": OQ_FORMAT, "started": format_time_ns(started), "finished": format_time_ns(time.time_ns()),
        "wall_seconds": f"{time.monotonic() - clock:.2f}",
        "result": "PASS" if passed else "FAIL",
        "environment": environment(), "installation": installation, "plugins": plugins, "clauses": clauses,
        "tests": [{"test": name, **result} for name, result in sorted(results.items())],
    }
    data = canonical_json(evidence) + b"\n"
    (output / "oq-evidence.json").write_bytes(data)
    (output / "oq-evidence.html").write_text(render_html(evidence), encoding="utf-8")
    if private is not None:
        statement = {"format": OQ_FORMAT, "evidence_sha256": hashlib.sha256(data).hexdigest(),
                     "signer": {"printed_name": signer.printed_name, "user_id": signer.user_id},
                     "key_id": signer.key_id, "public_key": signer.public_key, "meaning": "authorship",
                     "time": format_time_ns(time.time_ns())}
        signature = private.sign(OQ_SIGNATURE_DOMAIN + canonical_json(statement)).hex()
        (output / "oq-evidence.sig.json").write_bytes(canonical_json({"statement": statement,
                                                                       "signature": signature}) + b"\n")
    return evidence


def verify_evidence(output: Path, trusted_public_key: str | None = None) -> str | None:
    """``None`` when ``oq-evidence.sig.json`` signs ``oq-evidence.json`` as it is now, else what is wrong."""
    import orjson

    try:
        signed = orjson.loads((Path(output) / "oq-evidence.sig.json").read_bytes())
        statement = signed["statement"]
        data = (Path(output) / "oq-evidence.json").read_bytes()
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return "no readable evidence or signature file"
    if statement.get("evidence_sha256") != hashlib.sha256(data).hexdigest():
        return "the evidence file was changed after it was signed"
    if trusted_public_key is not None and statement.get("public_key") != trusted_public_key:
        return "signed by another key than the trusted one"
    message = OQ_SIGNATURE_DOMAIN + canonical_json(statement)
    if not verify_ed25519(str(statement.get("public_key")), message, signed.get("signature")):
        return "the signature does not verify"
    return None


def render_html(evidence: dict[str, Any]) -> str:
    e = html.escape
    env = evidence["environment"]
    rows = []
    for clause in evidence["clauses"]:
        tests = "<br>".join(f"{e(t['test'])}: <b>{e(t['outcome'])}</b> ({t['seconds']} s)" for t in clause["tests"])
        rows.append(f"<tr class='{clause['result'].lower()}'><td>{e(clause['clause'])}</td>"
                    f"<td>{e(clause['requirement'])}</td><td>{tests}</td><td>{clause['result']}</td></tr>")
    versions = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in env["versions"].items())
    files = "".join(f"<tr><td>{e(f['path'])}</td><td><code>{f['sha256']}</code></td></tr>"
                    for f in evidence["installation"]["files"])
    plugins = "".join(f"<tr><td>{e(p['name'])}</td><td>{e(p['file'])}</td><td><code>{e(p['sha256'])}</code></td>"
                      f"<td>{e(p['trusted'])}</td></tr>" for p in evidence.get("plugins", []))
    failures = "".join(f"<h3>{e(t['test'])}</h3><pre>{e(t['message'])}</pre>"
                       for t in evidence["tests"] if t["outcome"] == "failed")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gxp-otel OQ evidence: {evidence['result']}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;
padding:4px 8px;vertical-align:top}}.pass td:last-child{{background:#cfc}}.fail td:last-child{{background:#fcc}}
code{{font-size:85%}}</style></head><body>
<h1>gxp-otel operational qualification: {evidence['result']}</h1>
<p>Run {e(evidence['started'])} to {e(evidence['finished'])} UTC ({evidence['wall_seconds']} s) on {e(env['host'])}
by {e(env['user'])}; Python {e(env['python'])} ({e(env['executable'])}), {e(env['platform'])}.
{len(evidence['tests'])} tests. The machine-readable record is <code>oq-evidence.json</code>; when signed,
<code>oq-evidence.sig.json</code> holds the Ed25519 signature over its sha256.</p>
<h2>Clauses</h2><table><tr><th>clause</th><th>requirement</th><th>tests</th><th>result</th></tr>{''.join(rows)}</table>
{('<h2>Failures</h2>' + failures) if failures else ''}
<h2>Versions</h2><table>{versions}</table>
<h2>Installation evidence</h2><p>Package directory {e(evidence['installation']['package_dir'])}; digest of the file
list <code>{evidence['installation']['digest']}</code>; against the wheel's manifest:
<b>{e(evidence['installation']['status'])}</b>.</p>
{''.join(f"<p class='fail'>{e(p)}</p>" for p in evidence['installation']['problems'])}
<h2>pytest plugins loaded</h2><table><tr><th>plugin</th><th>file</th><th>sha256</th><th>part of pytest or
gxp-otel</th></tr>{plugins}</table>
<details><summary>{len(evidence['installation']['files'])} files</summary><table>{files}</table></details>
</body></html>
"""
