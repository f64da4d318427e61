"""Issue 13.7: the command line behaves like a well-kept Unix tool (`--version`, `-h` everywhere, quiet in a
closed pipe)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from trail_helpers import traced

CLI = [sys.executable, "-m", "gxp_otel.cli"]


def test_version_and_short_help():
    from gxp_otel import __version__

    version = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"gxp-otel {__version__}"


@pytest.mark.parametrize("command", [[], ["verify"], ["query"], ["report"], ["phoenix", "start"], ["retention", "list"],
                                     ["keygen"], ["demo"]])
def test_dash_h_is_help_on_every_command(command):
    done = subprocess.run([*CLI, *command, "-h"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


def test_query_into_a_pipe_closed_early_is_not_an_error(tmp_path):
    provider, _ = traced(tmp_path / "trail")
    tracer = provider.get_tracer("qa")
    for i in range(3000):
        with tracer.start_as_current_span(f"step-{i}"):
            pass
    provider.shutdown()
    query = subprocess.Popen([*CLI, "query", str(tmp_path / "trail"), "--json", "--no-index"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.run(["head", "-n", "2"], stdin=query.stdout, capture_output=True, timeout=120)
    query.stdout.close()  # only head holds the read end now: when head exits, the pipe is closed
    stderr = query.stderr.read().decode()
    assert query.wait(timeout=120) in (0, -signal.SIGPIPE), stderr  # ended as `cat` ends, never exit 1
    assert stderr == ""
    assert len(head.stdout.splitlines()) == 2


def test_index_and_phoenix_stop_report_as_json(tmp_path):
    import json

    provider, _ = traced(tmp_path / "trail")
    with provider.get_tracer("qa").start_as_current_span("one"):
        pass
    provider.shutdown()
    built = subprocess.run([*CLI, "index", str(tmp_path / "trail"), "--json"], capture_output=True, text=True,
                           timeout=60)
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["records"] >= 2
    stopped = subprocess.run([*CLI, "phoenix", "stop", "--data-dir", str(tmp_path / "no-phoenix"), "--json"],
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and json.loads(stopped.stdout) == {"stopped": False, "pid": None}


def test_report_and_legal_hold_report_as_json(tmp_path):
    import json

    provider, _ = traced(tmp_path / "trail")
    with provider.get_tracer("qa").start_as_current_span("one"):
        pass
    provider.shutdown()
    report = subprocess.run([*CLI, "report", str(tmp_path / "trail"), "-o", str(tmp_path / "r.html"), "--json"],
                            capture_output=True, text=True, timeout=120)
    summary = json.loads(report.stdout)
    assert summary["verdict"].startswith("VERIFIED") and summary["records_verified"] >= 2, report.stderr
    held = subprocess.run([*CLI, "retention", "hold", str(tmp_path / "trail"), "--reason", "inspection", "--by",
                           "qa.lead", "--json"], capture_output=True, text=True, timeout=60)
    hold_id = json.loads(held.stdout)["hold_id"]
    released = subprocess.run([*CLI, "retention", "release", str(tmp_path / "trail"), hold_id, "--reason", "closed",
                               "--by", "qa.lead", "--json"], capture_output=True, text=True, timeout=60)
    assert json.loads(released.stdout) == {"released": hold_id}, released.stderr


def test_the_command_line_imports_the_demo_and_the_writer_only_for_the_verbs_that_use_them():
    """Every verb pays for what the package imports (issue 16: `verify` start-up); the demo's default project is
    its own constant, kept equal here."""
    import gxp_otel.cli.demo as cli_demo
    from gxp_otel.demo import DEMO_PROJECT

    assert cli_demo.DEMO_PROJECT == DEMO_PROJECT
    code = "import sys, gxp_otel.cli; print(sorted(m for m in ('gxp_otel.demo', 'gxp_otel.audit.writer') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", (done.stdout, done.stderr)


def test_every_verb_is_mapped_to_the_module_that_registers_it():
    """``main`` imports only the verb's module (gxp_otel.cli.VERB_MODULES): the map must name every verb of the full
    command line, and the module it names must register that verb alone or with its siblings."""
    import typer.main

    import gxp_otel.cli as cli

    def verbs(app) -> set[str]:
        return set(typer.main.get_command(app).commands)

    assert verbs(cli.build_app()) == set(cli.VERB_MODULES)
    for verb, module in cli.VERB_MODULES.items():
        assert verb in verbs(cli.build_app([module])), (verb, module)


@pytest.mark.parametrize("argv", [["verify", "--help"], ["verify", "--json", "/nonexistent-trail"]])
def test_verify_imports_neither_the_review_nor_phoenix_nor_part11_signing(argv):
    """Issue 16: `gxp-otel verify` start-up pays for the verifier only."""
    code = ("import sys, runpy; sys.argv = ['gxp-otel', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('gxp_otel.cli', run_name='__main__')\nexcept SystemExit: pass\n"
            "print('LOADED', sorted(m for m in ('gxp_otel.review', 'gxp_otel.phoenix', 'gxp_otel.part11.cli_support')"
            " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert "LOADED []" in done.stdout, (done.stdout[-2000:], done.stderr[-2000:])
