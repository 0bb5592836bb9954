// A kiosk's practice visit (/worker/kiosk): left untouched for the configured time, the pages sign the worker out
// and go back to the kiosk's welcome screen, as the 结束练习 button does. Phone pages never load this file.
"use strict";
(function () {
  const form = document.getElementById("kiosk-end");
  if (!form) return;
  const idleMs = Number(form.dataset.idleSeconds) * 1000;
  let timer = null;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(() => form.submit(), idleMs);
  };
  ["pointerdown", "touchstart", "keydown", "input", "scroll", "wheel"].forEach((name) =>
    document.addEventListener(name, restart, {capture: true, passive: true}));
  restart();
})();
