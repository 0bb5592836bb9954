// Live monitor: polls the JSON route every few seconds and redraws the tables; no page reload, no library.
(function () {
  "use strict";
  var root = document.getElementById("monitor");
  if (!root) return;
  // The bureau's zone (EXAM_TIMEZONE), not the browser's: a county office's PC may be set to anything.
  var url = root.dataset.url, poll = (parseInt(root.dataset.poll, 10) || 5) * 1000, zone = root.dataset.zone;
  var statusEl = document.getElementById("live-status");
  // [state, label] pairs rendered by the page from the server's enums, in the columns' order.
  var pairs = JSON.parse(document.getElementById("monitor-states").textContent);
  var states = pairs.map(function (p) { return p[0]; }), labels = {};
  pairs.forEach(function (p) { labels[p[0]] = p[1]; });
  var deadlines = [], skew = 0, timer = null;
  // The page's words in its language (console/monitor.html), and its language for the clock.
  var texts = JSON.parse(document.getElementById("monitor-texts").textContent);
  var lang = document.documentElement.lang || "zh-CN";
  function say(key, values) {
    return texts[key].replace(/\{(\w+)\}/g, function (all, name) { return name in (values || {}) ? values[name] : all; });
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;  // textContent: names never become markup
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function time(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    return d.toLocaleTimeString(lang, {hour12: false, timeZone: zone});
  }
  function left(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function replaceBody(table, rows) {
    var body = document.querySelector(table + " tbody");
    body.replaceChildren.apply(body, rows);
  }
  function render(data) {
    skew = new Date(data.now).getTime() - Date.now();
    replaceBody("#by-county", data.counties.map(function (c) {
      var tr = document.createElement("tr");
      cell(tr, c.name); cell(tr, c.total, "num");
      states.forEach(function (s) { cell(tr, c[s], "num"); });
      return tr;
    }));
    deadlines = [];
    replaceBody("#live-sittings", data.sittings.map(function (s) {
      var tr = document.createElement("tr");
      tr.dataset.sitting = s.sitting_id;
      cell(tr, s.county); cell(tr, s.enterprise); cell(tr, s.worker);
      var state = cell(tr, "");
      var badge = document.createElement("span");
      badge.className = "state " + s.face_state;
      badge.textContent = labels[s.face_state] || s.face_state;
      state.appendChild(badge);
      cell(tr, s.distance == null ? "—" : s.distance.toFixed(3), "num");
      cell(tr, time(s.checked_at)); cell(tr, time(s.started_at));
      var remaining = cell(tr, left(s.seconds_left), "num");
      if (s.status === "in_progress") deadlines.push([remaining, new Date(s.deadline_at).getTime()]);
      return tr;
    }));
    document.getElementById("live-count").textContent = say("count", {n: data.sittings.length});
    statusEl.className = "live-status";
    statusEl.textContent = say("updated", {time: time(data.now), seconds: poll / 1000});
  }
  function tick() {  // count the time left down between two polls
    var now = Date.now() + skew;
    deadlines.forEach(function (d) { d[0].textContent = left((d[1] - now) / 1000); });
  }
  function refresh() {
    fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (r) {
        if (r.status === 401) throw new Error(say("expired"));
        if (r.status === 403) throw new Error(say("forbidden"));
        if (!r.ok) throw new Error(say("failed", {status: r.status}));
        return r.json();
      })
      .then(render)
      .catch(function (e) { statusEl.className = "live-status error"; statusEl.textContent = e.message; })
      .finally(function () { timer = setTimeout(refresh, poll); });
  }
  setInterval(tick, 1000);
  refresh();
})();
