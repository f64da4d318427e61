"""Byte-identity of the Go and Python writers beyond the golden vectors: seeded random vectors (typed values of every
kind, unicode keys and text, events, links, log bodies of nested maps and arrays, explicit checkpoints, gaps,
restarts, crashes with torn lines, size and daily rotation, signed and unsigned) are played through the Python
writer (tests/vector_runner.py) and the Go writer (build/gxpaudit-vector); every file must be identical."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from otelcol_process import ROOT, require_build

sys.path.insert(0, str(ROOT / "tests"))
from vector_runner import run_steps, trail_files  # noqa: E402

pytestmark = pytest.mark.collector

GO_VECTOR = ROOT / "build" / "gxpaudit-vector"
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1
T0 = 1_764_000_000_000_000_000
TEXT = "aZ09 _-./:é€😀\u2028\ue000\"\\\n\t\u0001\u007f"
GXP_KEYS = ("enduser.id", "gxp.user.id", "user.id", "gxp.agent.id", "gen_ai.agent.name", "session.id",
            "gxp.gamp.category", "gxp.risk.level", "gxp.workflow.run_id")


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.n = 0

    def text(self, low: int = 0, high: int = 12) -> str:
        return "".join(self.r.choice(TEXT) for _ in range(self.r.randint(low, high)))

    def key(self) -> str:
        return self.r.choice(GXP_KEYS) if self.r.random() < 0.25 else self.text(1, 8)

    def scalar(self, kind: str | None = None) -> dict:
        kind = kind or self.r.choice(["s", "i", "d", "b"])
        if kind == "s":
            return {"stringValue": self.text()}
        if kind == "i":
            return {"intValue": str(self.r.choice([0, 1, -1, 2**63 - 1, -(2**63), self.r.randint(-10**12, 10**12)]))}
        if kind == "b":
            return {"boolValue": self.r.random() < 0.5}
        special = self.r.choice(["NaN", "Infinity", "-Infinity", None, None, None])
        if special:
            return {"doubleValue": special}
        return {"doubleValue": self.r.choice([0.0, -0.0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308,
                                              self.r.uniform(-1e6, 1e6), self.r.random() * 10 ** self.r.randint(-30, 30)])}

    def attrs(self, arrays: bool) -> list[dict]:
        out, seen = [], set()
        for _ in range(self.r.randint(0, 6)):
            key = self.key()
            if key in seen:
                continue
            seen.add(key)
            if arrays and self.r.random() < 0.2:
                kind = self.r.choice(["s", "i", "d", "b"])
                value = {"arrayValue": {"values": [self.scalar(kind) for _ in range(self.r.randint(1, 3))]}}
            else:
                value = self.scalar()
            out.append({"key": key, "value": value})
        return out

    def any_value(self, depth: int = 0) -> dict:
        roll = self.r.random()
        if depth < 3 and roll < 0.2:
            keys = {self.text(1, 6) for _ in range(self.r.randint(0, 4))}
            return {"kvlistValue": {"values": [{"key": k, "value": self.any_value(depth + 1)} for k in sorted(keys)]}}
        if depth < 3 and roll < 0.35:
            return {"arrayValue": {"values": [self.any_value(depth + 1) for _ in range(self.r.randint(0, 3))]}}
        if roll < 0.4:
            return {"bytesValue": self.r.choice(["", "AA==", "3q2+7w==", "/wA="])}
        if roll < 0.45:
            return {}
        return self.scalar()

    def span(self) -> dict:
        self.n += 1
        start = T0 + self.n * 1000
        span = {
            "traceId": f"{self.r.getrandbits(128) | 1:032x}", "spanId": f"{self.n:016x}",
            "name": self.text(1, 20), "kind": self.r.randint(0, 5),
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + self.r.randint(0, 10**9)),
            "attributes": self.attrs(arrays=True),
            "events": [{"timeUnixNano": str(start + 5), "name": self.text(1, 10), "attributes": self.attrs(False)}
                       for _ in range(self.r.randint(0, 2))],
            "links": [{"traceId": f"{self.r.getrandbits(128) | 1:032x}", "spanId": f"{self.r.getrandbits(64) | 1:016x}",
                       "traceState": self.r.choice(["", "vendor=1", "a=b,c=d"]), "attributes": self.attrs(False)}
                      for _ in range(self.r.randint(0, 2))],
            "status": self.r.choice([{}, {"code": 1}, {"code": 2, "message": self.text(0, 10)}]),
        }
        if self.r.random() < 0.5:
            span["parentSpanId"] = f"{self.r.getrandbits(64) | 1:016x}"
        return span

    def log(self) -> dict:
        self.n += 1
        record = {
            "timeUnixNano": str(self.r.choice([0, T0 + self.n])), "observedTimeUnixNano": str(T0 + self.n + 1),
            "severityNumber": self.r.choice([0, 5, 9, 13, 17]), "severityText": self.r.choice(["", "INFO", "WARN"]),
            "body": self.any_value(), "attributes": self.attrs(arrays=True), "flags": self.r.choice([0, 1]),
        }
        if self.r.random() < 0.5:
            record["traceId"], record["spanId"] = f"{self.r.getrandbits(128) | 1:032x}", f"{self.n:016x}"
        if self.r.random() < 0.3:
            record["eventName"] = self.text(1, 10)
        return record

    def resource(self) -> dict:
        return {"attributes": [a for a in self.attrs(arrays=False)]}

    def scope(self) -> dict:
        scope = {"name": self.text(0, 10)}
        if self.r.random() < 0.5:
            scope["version"] = self.text(0, 5)
        return scope

    def vector(self) -> dict:
        steps: list[dict] = []
        for _ in range(self.r.randint(2, 9)):
            roll = self.r.random()
            if roll < 0.35:
                steps.append({"op": "spans", "otlp": {"resourceSpans": [
                    {"resource": self.resource(), "scopeSpans": [
                        {"scope": self.scope(), "spans": [self.span() for _ in range(self.r.randint(1, 4))]}
                        for _ in range(self.r.randint(1, 2))]}]}})
            elif roll < 0.6:
                steps.append({"op": "logs", "otlp": {"resourceLogs": [
                    {"resource": self.resource(), "scopeLogs": [
                        {"scope": self.scope(), "logRecords": [self.log() for _ in range(self.r.randint(1, 3))]}]}]}})
            elif roll < 0.7:
                steps.append({"op": "checkpoint", "reason": "interval"})
            elif roll < 0.8:
                steps.append({"op": "gap", "signal": self.r.choice(["spans", "logs"]), "count": str(self.r.randint(1, 9)),
                              "reason": self.text(1, 10), "first_time_ns": str(T0 + self.r.randint(0, 10**9))})
            elif roll < 0.9:
                steps += [{"op": "close"}, {"op": "reopen"}]
            else:
                steps += [{"op": "crash"}, {"op": "append_raw", "bytes": self.r.choice(["", "{\"body\":{", "x"])},
                          {"op": "reopen"}]
        daily = self.r.random() < 0.3
        return {
            "description": "random",
            "clock": {"start_ns": str(T0 + 5 * 10**9), "step_ns": str(3_600 * 10**9 if daily else 10**6)},
            "writer": {"stream": "rand.0", "writer": "gxp-otel-vector/1", "host": "vector-host", "pid": "4242",
                       "config_fingerprint": "c0ffee" + "0" * 58, "retention_days": "2555",
                       "signing_key_seed": self.r.choice([SEED, ""]),
                       "rotate_bytes": str(self.r.choice([4096, 6000, 50_000_000])),
                       "rotate_daily": "true" if daily else "false"},
            "steps": steps,
        }


@pytest.mark.parametrize("seed", range(30))
def test_go_and_python_writers_write_identical_files(seed: int, tmp_path: Path) -> None:
    require_build()
    vector = Gen(seed).vector()
    (tmp_path / "python").mkdir()
    run_steps(vector, tmp_path / "python")
    vector_file = tmp_path / "vector.json"
    vector_file.write_text(json.dumps(vector, ensure_ascii=False))
    done = subprocess.run([str(GO_VECTOR), str(vector_file), str(tmp_path / "go")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    python_files, go_files = trail_files(tmp_path / "python"), trail_files(tmp_path / "go")
    assert sorted(go_files) == sorted(python_files)
    for name, text in python_files.items():
        assert go_files[name] == text, f"{name} differs"


def tamper(rng: random.Random, trail: Path) -> str:
    """One random tampering of a trail; returns what was done."""
    chain = sorted(p for p in trail.iterdir() if p.name.endswith(".jsonl") and "-0" in p.name)
    checkpoints = sorted(trail.glob("*.checkpoints.jsonl"))
    target = rng.choice(chain)
    lines = target.read_bytes().split(b"\n")[:-1]
    how = rng.choice(["edit", "delete", "duplicate", "swap", "truncate", "drop-file", "checkpoint-file", "byte"])
    i = rng.randrange(len(lines)) if lines else 0
    if how == "edit" and lines:
        lines[i] = lines[i].replace(b'"seq":"', b'"seq":"1', 1) if rng.random() < 0.3 else lines[i][:20] + b"X" + lines[i][21:]
    elif how == "delete" and lines:
        del lines[i]
    elif how == "duplicate" and lines:
        lines.insert(i, lines[i])
    elif how == "swap" and len(lines) > 1:
        j = rng.randrange(len(lines) - 1)
        lines[j], lines[j + 1] = lines[j + 1], lines[j]
    elif how == "truncate" and lines:
        lines = lines[:i]
    elif how == "drop-file" and len(chain) > 1:
        target.unlink()
        return f"{how} {target.name}"
    elif how == "checkpoint-file" and checkpoints:
        cp_lines = checkpoints[0].read_bytes().split(b"\n")[:-1]
        if cp_lines:
            k = rng.randrange(len(cp_lines))
            cp_lines[k] = cp_lines[k].replace(b'"seq":"', b'"seq":"9', 1)
            checkpoints[0].write_bytes(b"".join(line + b"\n" for line in cp_lines))
        return f"{how} {checkpoints[0].name}"
    elif how == "byte":
        data = bytearray(target.read_bytes())
        if data:
            data[rng.randrange(len(data))] ^= 0x20
        target.write_bytes(bytes(data))
        return f"{how} {target.name}"
    target.write_bytes(b"".join(line + b"\n" for line in lines))
    return f"{how} {target.name}:{i + 1}"


@pytest.mark.parametrize("seed", range(40))
def test_go_and_python_verifiers_report_the_same_problems_on_random_tampering(seed: int, tmp_path: Path) -> None:
    require_build()
    from gxp_otel.audit.verifier import verify_trail

    from otelcol_process import go_verify

    rng = random.Random(10_000 + seed)
    trail = tmp_path / "trail"
    trail.mkdir()
    run_steps(Gen(seed).vector(), trail)
    what = tamper(rng, trail)
    py = verify_trail(trail)
    _, go = go_verify(trail)
    python_problems = [(p.file, p.line, p.seq, p.kind) for p in py.problems]
    go_problems = [(p["file"], p["line"], p["seq"], p["kind"]) for p in go["problems"]]
    assert go_problems == python_problems, what
