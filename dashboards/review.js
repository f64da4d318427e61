/* gxp-otel audit-trail review: paged tables, run timelines and exports from the data embedded in this file.
   No network: everything comes from the <script id="review-data"> element. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("review-data").textContent);
  var PAGE = 25;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "cls") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function td(text, cls) { return el("td", { text: text == null ? "" : String(text), cls: cls || "" }); }
  function when(t) { return t ? t.slice(0, 23).replace("T", " ") : ""; }
  function short(id) { return id ? id.slice(0, 12) : ""; }

  /* A filterable, paged table over an array; rowFn(item) returns a <tr>. */
  /* printAll: every row is in the table, those of other pages hidden on screen only (print CSS shows them). */
  function pagedTable(tableId, pagerId, filterId, items, rowFn, textFn, printAll) {
    var tbody = document.querySelector("#" + tableId + " tbody");
    var pager = document.getElementById(pagerId);
    var state = { page: 0, shown: items };
    function draw() {
      tbody.textContent = "";
      var pages = Math.max(1, Math.ceil(state.shown.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      var first = state.page * PAGE, last = (state.page + 1) * PAGE;
      (printAll ? state.shown : state.shown.slice(first, last)).forEach(function (item, i) {
        var tr = rowFn(item);
        if (printAll && (i < first || i >= last)) tr.classList.add("off-page");
        tbody.appendChild(tr);
      });
      if (!state.shown.length) tbody.appendChild(el("tr", {}, [el("td", { colspan: "12", text: "Nothing in scope.", cls: "note" })]));
      pager.textContent = "";
      function go(label, page, current) {
        var b = el("button", { type: "button", text: label });
        if (current) b.setAttribute("aria-current", "true");
        b.addEventListener("click", function () { state.page = page; draw(); });
        pager.appendChild(b);
      }
      if (pages > 1) {
        go("‹", Math.max(0, state.page - 1));
        var first = Math.max(0, Math.min(state.page - 4, pages - 9));
        for (var p = first; p < Math.min(pages, first + 9); p++) go(String(p + 1), p, p === state.page);
        go("›", Math.min(pages - 1, state.page + 1));
      }
      pager.appendChild(el("span", { text: " " + state.shown.length.toLocaleString("en") + " row(s), page " + (state.page + 1) + " of " + pages }));
    }
    var filter = document.getElementById(filterId);
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      state.shown = q ? items.filter(function (it) { return textFn(it).toLowerCase().indexOf(q) >= 0; }) : items;
      state.page = 0;
      draw();
    });
    draw();
    return state;
  }

  /* ---- workflow runs ---- */
  function runRow(run) {
    var tr = el("tr", { "data-run": run.run_id });
    var outcome = run.outcome || run.status || (run.root_seen ? "" : "not finished / root span not in scope");
    tr.appendChild(td(when(run.start)));
    tr.appendChild(td(run.workflow || "(run span not in scope)"));
    tr.appendChild(el("td", {}, [el("code", { text: run.run_id })]));
    tr.appendChild(td(run.user + ((run.senders || []).length ? " (declared; authenticated sender: " + run.senders.join(", ") + ")" : "")));
    tr.appendChild(td(run.agent));
    tr.appendChild(td(run.gamp));
    tr.appendChild(td(run.risk));
    tr.appendChild(td(outcome, "outcome " + (run.outcome || run.status || "")));
    tr.appendChild(td(run.duration_s == null ? "" : run.duration_s.toFixed(3) + " s", "num"));
    tr.appendChild(td(run.steps + " / " + run.events, "num"));
    tr.appendChild(td(run.approvals.map(function (a) {
        return (a.kind === "automated" ? "automated" : a.responder + " (" + (a.kind || "declared") + ")") + ": " + a.decision +
          (a.sender ? " [delivered by " + a.sender + ", authenticated]" : "") +
          (a.signature_missing ? " [e-signature required by the capture policy, none]" : ""); })
      .concat((run.part11 || []).filter(function (p) { return p.kind === "signature"; })
        .map(function (p) { return "signed (" + p.meaning + ") by " + p.printed_name + (p.problem ? " [" + p.problem + "]" : ""); })).join("; ")));
    var link = el("td");
    if (run.phoenix_url) link.appendChild(el("a", { href: run.phoenix_url, target: "_blank", rel: "noopener", text: "Phoenix ↗", title: "trace " + run.trace_id }));
    else link.textContent = short(run.trace_id);
    tr.appendChild(link);
    tr.addEventListener("click", function (ev) { if (ev.target.tagName !== "A") showRun(run); });
    return tr;
  }
  function runText(run) {
    return [run.run_id, run.workflow, run.user, run.agent, run.outcome, run.status, run.trace_id, run.start, run.gamp, run.risk].join(" ");
  }

  var SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, title) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (title) { var t = document.createElementNS(SVGNS, "title"); t.textContent = title; node.appendChild(t); }
    return node;
  }
  function ns(t) { /* a UTC time string to milliseconds: enough precision to draw */
    return t ? Date.parse(t.slice(0, 23) + "Z") : NaN;
  }

  function timelineSvg(run) {
    var entries = run.timeline.filter(function (e) { return e.start; });
    if (!entries.length) return el("p", { cls: "note", text: "No timed steps or events in scope for this run." });
    var t0 = Math.min.apply(null, entries.map(function (e) { return ns(e.start); }));
    var t1 = Math.max.apply(null, entries.map(function (e) { return ns(e.end || e.start); }));
    if (run.start) t0 = Math.min(t0, ns(run.start));
    if (run.end) t1 = Math.max(t1, ns(run.end));
    var span = Math.max(t1 - t0, 1);
    var lanes = [];
    entries.forEach(function (e) {
      var lane = e.type === "step" ? e.name : (e.step || "(run, no step)");
      if (lanes.indexOf(lane) < 0) lanes.push(lane);
    });
    var left = 150, width = 900, row = 20, top = 22;
    var height = top + lanes.length * row + 10;
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, "class": "chart timeline", role: "img", "aria-label": "Run timeline" });
    function x(t) { return left + (width - left - 12) * (ns(t) - t0) / span; }
    root.appendChild(svg("text", { x: left, y: 12, "class": "tick" })).textContent = when(run.start || entries[0].start) + " UTC";
    root.appendChild(svg("text", { x: width - 12, y: 12, "class": "tick", "text-anchor": "end" })).textContent = "+" + (span / 1000).toFixed(3) + " s";
    lanes.forEach(function (lane, i) {
      var y = top + i * row;
      root.appendChild(svg("line", { x1: left, x2: width - 12, y1: y + row / 2, y2: y + row / 2, "class": "grid" }));
      root.appendChild(svg("text", { x: left - 6, y: y + 14, "class": "lane-label", "text-anchor": "end" })).textContent = lane.length > 22 ? lane.slice(0, 21) + "…" : lane;
    });
    entries.forEach(function (e) {
      var lane = e.type === "step" ? e.name : (e.step || "(run, no step)");
      var y = top + lanes.indexOf(lane) * row;
      if (e.type === "step") {
        var x0 = x(e.start), x1 = x(e.end || e.start);
        root.appendChild(svg("rect", { x: x0, y: y + 4, width: Math.max(x1 - x0, 2), height: row - 8, "class": "step " + e.status },
          "step " + e.name + " (" + e.status + ", retry " + e.retry + "): " + when(e.start) + " to " + when(e.end) + " UTC, seq " + e.seq));
      } else {
        root.appendChild(svg("circle", { cx: x(e.start), cy: y + row / 2, r: 5, "class": e.type === "error" ? "error" : ("event" + (e.hitl ? " hitl" : "")) },
          e.name + " at " + when(e.start) + " UTC" + (e.detail ? ": " + e.detail : "") + " (seq " + e.seq + ")"));
      }
    });
    return root;
  }

  function showRun(run) {
    document.querySelectorAll("#runs-table tbody tr").forEach(function (tr) { tr.classList.toggle("selected", tr.getAttribute("data-run") === run.run_id); });
    var box = document.getElementById("run-detail");
    box.textContent = "";
    var detail = el("div", { cls: "run-detail", id: "run-" + run.run_id });
    detail.appendChild(el("h3", { text: "Run " + run.run_id + (run.workflow ? " — " + run.workflow : "") }));
    var facts = el("dl", { cls: "facts" });
    [["Who (user)", run.user], ["Agent", run.agent], ["Started (UTC)", when(run.start)], ["Ended (UTC)", when(run.end)],
     ["GAMP category", run.gamp], ["Risk", run.risk], ["Capture policy", run.capture_policy || ""], ["Outcome", (run.outcome || "") + (run.status ? " (span status " + run.status + ")" : "")],
     ["Duration", run.duration_s == null ? "" : run.duration_s + " s"], ["Correlation / why", run.correlation], ["Trace", run.trace_id],
     ["Phoenix project", run.project], ["Records", run.records + " (" + run.steps + " steps, " + run.events + " events, " + run.calls + " LLM/tool calls, " + run.errors + " failed)"]
    ].forEach(function (f) { facts.appendChild(el("dt", { text: f[0] })); facts.appendChild(el("dd", { text: f[1] == null ? "" : String(f[1]) })); });
    detail.appendChild(facts);
    [["What it was given", run.input], ["What it returned", run.output]].forEach(function (f) {
      if (f[1]) detail.appendChild(el("p", { cls: "io small" }, [el("strong", { text: f[0] + ": " }), el("code", { text: f[1] })]));
    });
    if (run.status_message) detail.appendChild(el("p", { cls: "warn", text: "Status message: " + run.status_message }));
    detail.appendChild(timelineSvg(run));
    var legend = el("p", { cls: "legend small" });
    [["step", "step (span)"], ["event", "stream event"], ["hitl", "human in the loop"], ["error", "error"]].forEach(function (l) {
      legend.appendChild(el("span", { cls: "swatch " + l[0] }));
      legend.appendChild(document.createTextNode(l[1] + "  "));
    });
    detail.appendChild(legend);
    var table = el("table", { cls: "data", id: "timeline-table" });
    table.appendChild(el("thead", {}, [el("tr", {}, ["Time (UTC)", "Type", "Step / event", "Detail", "Who", "Record"].map(function (h) { return el("th", { text: h }); }))]));
    var tbody = el("tbody");
    run.timeline.forEach(function (e) {
      var tr = el("tr", { cls: e.hitl ? "hitl" : (e.type === "error" || e.status === "ERROR" ? "error" : "") });
      tr.appendChild(td(when(e.start)));
      tr.appendChild(td(e.hitl ? (e.hitl === "automated-response" ? "automated response" : "human " + e.hitl) : e.type));
      tr.appendChild(td(e.type === "step" ? e.name + (e.retry && e.retry !== "0" ? " (retry " + e.retry + ")" : "") : e.name + (e.step ? " in " + e.step : "")));
      tr.appendChild(td(e.type === "step" ? e.status + ", until " + when(e.end) : e.detail));
      tr.appendChild(td(e.user || ""));
      tr.appendChild(td(e.stream + " seq " + e.seq + " (" + e.file + ":" + e.line + ")", "small"));
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    detail.appendChild(table);
    (run.part11 || []).forEach(function (p) {
      var text = p.kind === "signature"
        ? "Electronic signature: " + p.printed_name + " (" + p.user_id + "), meaning " + p.meaning + ", " + when(p.signed_at) + " UTC" + (p.reason ? ", reason: " + p.reason : "") + "; signs " + p.target.stream + " seq " + p.target.seq
        : p.kind === "correction" ? "Correction by " + p.printed_name + " (" + p.user_id + ") of " + p.target.stream + " seq " + p.target.seq + " " + p.path + ": " + p.old_value + " → " + p.new_value + " (" + p.reason + ")" : p.kind;
      detail.appendChild(el("p", { cls: "part11" + (p.problem ? " warn" : ""), text: text + (p.problem ? " — NOT VERIFIED: " + p.problem : "") }));
    });
    if (run.timeline_dropped) detail.appendChild(el("p", { cls: "note", text: run.timeline_dropped + " more entries not shown; gxp-otel query --run-id " + run.run_id + " lists them all." }));
    box.appendChild(detail);
  }

  /* ---- records and export ---- */
  var COLUMNS = ["stream", "seq", "file", "line", "recorded", "event_time", "kind", "what", "user", "agent", "run_id", "trace_id", "span_id", "status", "problem", "hash"];
  function recordRow(r) {
    var tr = el("tr", { cls: r.problem ? "fail" : "", title: r.problem ? "verification problem: " + r.problem : "" });
    tr.appendChild(td(when(r.recorded)));
    tr.appendChild(td(r.stream + " / " + r.seq));
    tr.appendChild(td(r.file + " : " + r.line, "small"));
    tr.appendChild(td(r.kind));
    tr.appendChild(td(r.what));
    tr.appendChild(td(r.user));
    tr.appendChild(td(r.agent));
    tr.appendChild(td(r.run_id));
    tr.appendChild(r.problem ? el("td", {}, [el("span", { cls: "kind", text: r.problem })]) : td(r.status));
    tr.appendChild(el("td", { title: r.hash }, [el("code", { text: short(r.hash) + "…" })]));
    return tr;
  }
  function recordText(r) { return COLUMNS.map(function (c) { return r[c]; }).join(" "); }
  function csvCell(v) {
    var s = v == null ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s; /* never let a spreadsheet run a cell as a formula */
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function toCsv(rows) {
    return [COLUMNS.join(",")].concat(rows.map(function (r) { return COLUMNS.map(function (c) { return csvCell(r[c]); }).join(","); })).join("\r\n") + "\r\n";
  }
  function download(name, type, text) {
    var a = el("a", { href: "data:" + type + ";charset=utf-8," + encodeURIComponent(text), download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  function exportName(ext) { return "audit-review-" + DATA.generated.replace(/[:]/g, "") + "." + ext; }

  var runsState = pagedTable("runs-table", "runs-pager", "runs-filter", DATA.runs, runRow, runText, true);
  var recordsState = pagedTable("records-table", "records-pager", "records-filter", DATA.records.slice().reverse(), recordRow, recordText);
  document.getElementById("export-csv").addEventListener("click", function () {
    download(exportName("csv"), "text/csv", toCsv(recordsState.shown));
  });
  document.getElementById("export-json").addEventListener("click", function () {
    var copy = { trail: DATA.trail, scope: DATA.scope, generated: DATA.generated, verified: DATA.integrity.ok, records: recordsState.shown };
    download(exportName("json"), "application/json", JSON.stringify(copy, null, 1));
  });
  if (DATA.runs.length) showRun(runsState.shown[0]);
  window.gxpReview = { data: DATA, toCsv: toCsv, showRun: showRun };
})();
