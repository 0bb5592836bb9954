// Console behaviour that used to sit inline in templates, so the Content-Security-Policy can refuse inline scripts.
(function () {
  "use strict";

  // <form data-confirm="..."> asks before submitting.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);

  // <select data-autosubmit> submits its form when changed.
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit") && event.target.form) {
      event.target.form.submit();
    }
  });

  // <section id="job" data-status="URL" data-poll="MS">: follow a background job until it finishes, then reload.
  function followJob(box) {
    var every = parseInt(box.getAttribute("data-poll"), 10);
    function show(id, value) {
      var el = document.getElementById(id);
      if (el) { el.textContent = value; }
    }
    function poll() {
      fetch(box.dataset.status, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (s) {
          ["done", "total", "enrolled", "skipped", "refused", "remaining"].forEach(function (k) {
            if (s[k] !== undefined) { show(k, s[k]); }
          });
          document.getElementById("bar").style.width = (s.total ? Math.round(100 * s.done / s.total) : 0) + "%";
          if ("rate_per_second" in s) { show("rate", s.rate_per_second ? (s.rate_per_second * 60).toFixed(1) : "—"); }
          if ("eta_seconds" in s) {
            show("eta", s.eta_seconds == null ? "—" : (s.eta_seconds < 90 ? Math.round(s.eta_seconds) + " 秒" : Math.ceil(s.eta_seconds / 60) + " 分钟"));
          }
          if (s.finished) { window.location.reload(); } else { setTimeout(poll, every); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    setTimeout(poll, every);
  }

  // <input data-suggest="URL" list="ID">: fill the datalist with the server's matches as the user types.
  function suggest(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null, asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = input.value.trim();
        var picked = Array.prototype.some.call(list.options, function (o) { return o.value === text; });
        if (!text || text === asked || picked) { return; }
        asked = text;
        var url = input.getAttribute("data-suggest");
        fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(text),
              {headers: {"Accept": "application/json"}, credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (data) {
            if (asked !== text) { return; }  // a later keystroke asked again
            list.replaceChildren.apply(list, data.enterprises.map(function (e) {
              var option = document.createElement("option");
              option.value = e.label;
              option.textContent = e.county;
              return option;
            }));
          })
          .catch(function () { asked = ""; });
      }, 200);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest][list]"), suggest);
    var box = document.getElementById("job");
    if (box && box.hasAttribute("data-poll")) { followJob(box); }
  });
})();
