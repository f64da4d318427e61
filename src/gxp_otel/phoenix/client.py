"""A small client for the parts of Phoenix's REST API (``/v1``) that gxp-otel uses: read spans back, annotate spans.

Standard library only, so the base install (verifier, review, demo checks) does not depend on the ``phoenix`` extra.
Phoenix's own authentication variables are honoured as Phoenix's clients honour them: ``PHOENIX_API_KEY`` is sent
as ``authorization: Bearer <key>`` and ``PHOENIX_CLIENT_HEADERS`` (``k=v,k2=v2``) as extra headers on every request. Every call raises
:class:`PhoenixApiError` (with the HTTP status and Phoenix's message) instead of returning partial data.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class PhoenixApiError(RuntimeError):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"Phoenix API error{f' {status}' if status else ''}: {message}")
        self.status = status


@dataclass(frozen=True)
class AuditAnnotation:
    """The audit status of one run, as a Phoenix span annotation on the run's root span."""

    span_id: str
    label: str  # "verified" or "failed"
    explanation: str
    metadata: Mapping[str, Any]
    name: str = "audit"

    @property
    def score(self) -> float:
        return 1.0 if self.label == "verified" else 0.0


class PhoenixClient:
    """REST client for one Phoenix base URL such as ``http://127.0.0.1:6006``."""

    def __init__(self, base_url: str, timeout: float = 10.0, api_key: str | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        """`api_key` wins over `PHOENIX_API_KEY`; headers come from `environ` (default `os.environ`)."""
        import os

        from gxp_otel.otlp_export import phoenix_headers

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        env = dict(os.environ if environ is None else environ)
        if api_key is not None:
            env["PHOENIX_API_KEY"] = api_key
        self.headers = phoenix_headers(env)

    def _request(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        url = f"{self.base_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(
                [(k, v) for k, vs in query.items() if vs is not None for v in (vs if isinstance(vs, list) else [vs])]
            )
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=dict(self.headers))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise PhoenixApiError(error.code, error.read().decode(errors="replace")[:500]) from error
        except (urllib.error.URLError, OSError) as error:
            raise PhoenixApiError(None, f"{url}: {error}") from error
        return json.loads(payload) if payload else None

    # -- projects and spans ---------------------------------------------------------------------------------------

    def project_names(self) -> list[str]:
        return [p["name"] for p in self._request("GET", "/v1/projects", {"limit": 1000})["data"]]

    def project_id(self, project: str) -> str:
        """Phoenix's id of a project (what its UI puts in URLs); PhoenixApiError 404 when there is none."""
        return str(self._request("GET", f"/v1/projects/{urllib.parse.quote(project, safe='')}")["data"]["id"])

    def trace_url(self, project_id: str, trace_id: str) -> str:
        """The address of one trace in Phoenix's UI."""
        return f"{self.base_url}/projects/{project_id}/traces/{trace_id}"

    def spans(self, project: str, trace_ids: list[str] | None = None, page_size: int = 1000) -> list[dict[str, Any]]:
        """Every span of ``project`` (optionally of some traces), following the pagination cursor to the end.

        Raises PhoenixApiError 404 when the project does not exist (yet).
        """
        return list(self._iter_spans(project, trace_ids, page_size))

    def _iter_spans(self, project: str, trace_ids: list[str] | None, page_size: int) -> Iterator[dict[str, Any]]:
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
        cursor: str | None = None
        while True:
            page = self._request("GET", path, {"limit": page_size, "cursor": cursor, "trace_id": trace_ids})
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def wait_for_spans(
        self, project: str, trace_ids: list[str], expected: Mapping[str, int], timeout: float = 30.0
    ) -> dict[str, int]:
        """Poll until Phoenix holds at least ``expected[trace_id]`` spans of each trace (it ingests in batches).

        Returns the span count per trace id found at the end, whether or not every expectation was met.
        """
        deadline = time.monotonic() + timeout
        counts: dict[str, int] = {t: 0 for t in trace_ids}
        while True:
            try:
                spans = self.spans(project, trace_ids=trace_ids) if trace_ids else []
            except PhoenixApiError as error:
                if error.status != 404:
                    raise
                spans = []
            counts = {t: 0 for t in trace_ids}
            for span in spans:
                counts[span["context"]["trace_id"]] = counts.get(span["context"]["trace_id"], 0) + 1
            if all(counts.get(t, 0) >= n for t, n in expected.items()) or time.monotonic() >= deadline:
                return counts
            time.sleep(0.5)

    # -- annotations ----------------------------------------------------------------------------------------------

    def annotate(self, annotations: list[AuditAnnotation]) -> list[str]:
        """Create (or, same name and span, replace) span annotations synchronously; returns their Phoenix ids."""
        body = {
            "data": [
                {
                    "span_id": a.span_id,
                    "name": a.name,
                    "annotator_kind": "CODE",
                    "identifier": "gxp-otel",
                    "result": {"label": a.label, "score": a.score, "explanation": a.explanation},
                    "metadata": dict(a.metadata),
                }
                for a in annotations
            ]
        }
        response = self._request("POST", "/v1/span_annotations", {"sync": "true"}, body)
        return [item["id"] for item in response["data"]]

    def span_annotations(self, project: str, span_ids: list[str]) -> list[dict[str, Any]]:
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/span_annotations"
        return list(self._request("GET", path, {"span_ids": span_ids, "limit": 1000})["data"])
