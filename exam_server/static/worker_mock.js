// The mock exam's countdown: shows the time left until the server's deadline and hands the paper in at zero.
(function () {
  "use strict";
  var timer = document.getElementById("mock-timer");
  var form = document.getElementById("mock-form");
  if (!timer || !form) {
    return;
  }
  var deadline = Date.parse(timer.getAttribute("data-deadline"));
  var sent = false;
  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    timer.textContent = "剩余时间 " + minutes + " 分 " + (seconds < 10 ? "0" : "") + seconds + " 秒";
    if (left === 0 && !sent) {
      sent = true;
      form.submit();
    }
  }
  form.addEventListener("submit", function () {
    sent = true;
  });
  tick();
  window.setInterval(tick, 1000);
})();
