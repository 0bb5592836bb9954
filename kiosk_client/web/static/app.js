// The worker's screen: draws the kiosk's state, says its sentences, sends button presses; the kiosk holds the token.
// Every word comes from the kiosk (kiosk_client/texts.py): fixed phrases by key from /api/texts, a screen's
// sentences with its state (state.lines), and the voice says exactly those (state.say).
"use strict";
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const HOME_AFTER_MS = 60000;  // result and refusal screens go back to the welcome screen by themselves
const HINT_STABLE_MS = 1200;  // a camera hint is said once it held this long...
const HINT_REPEAT_MS = 8000;  // ...and the same hint not again before this
// The practice PIN comes after the exam: a PIN screen left untouched this long ends the visit, as 不用了 / 完成 do.
const PIN_IDLE_MS = 45000;
const PIN_SCREENS = ["pin_offer", "pin_entry", "pin_saving", "pin_done", "pin_failed"];

let PHRASES = {}, state = null, drawnVersion = -1, drawnScreen = null, paper = null, typed = "", clockBase = null,
    homeTimer = null, pinTyped = "", pinTimer = null;
const T = (key) => PHRASES[key] || "";
const L = (s, role) => (s.lines && s.lines[role] ? s.lines[role].text : "");

// One <img> kept across redraws, so the live picture never flickers.
const preview = new Image();
preview.alt = "摄像头画面";
function refreshPreview() {
  if (!preview.isConnected) { setTimeout(refreshPreview, 200); return; }
  preview.src = "/preview.jpg?t=" + Date.now();
}
preview.onload = () => setTimeout(refreshPreview, 15);
preview.onerror = () => setTimeout(refreshPreview, 500);
refreshPreview();

// ---- the voice: one audio element, a queue of phrase keys; the tests read window.kioskVoice ----
// serial counts the clips started: a play() that fails after a newer clip took the element is that clip's past,
// not its failure (a pause or a new source rejects the older promise), so it neither records nor skips anything.
const voice = {audio: new Audio(), queue: [], serial: 0, saidOnScreen: new Set(), hint: {key: null, since: 0, said: {}}};
window.kioskVoice = {played: [], failed: []};
voice.audio.addEventListener("playing", () => window.kioskVoice.played.push(voice.current));
voice.audio.addEventListener("ended", () => nextClip());
voice.audio.addEventListener("error", () => { window.kioskVoice.failed.push(voice.current); nextClip(); });
function voiceOn() { return state && state.voice && state.voice.enabled && !(state.prefs && state.prefs.muted); }
function say(keys, replace) {
  if (replace) { voice.queue = []; voice.serial += 1; voice.audio.pause(); voice.current = null; }
  voice.queue.push(...keys);
  if (!voice.current) nextClip();
}
function nextClip() {
  const key = voice.queue.shift() || null, serial = ++voice.serial;
  voice.current = key;
  if (!key || !voiceOn()) { voice.current = null; voice.queue = []; return; }
  voice.audio.volume = Math.max(0, Math.min(1, (state.voice.volume || 0) / 100));
  voice.audio.src = "/voice/" + encodeURIComponent(key);
  voice.audio.play().catch(() => {
    if (serial !== voice.serial) return;
    window.kioskVoice.failed.push(key);
    nextClip();
  });
}
function sayScreen(changed) {
  const keys = (state.say || []).map((role) => state.lines[role] && state.lines[role].key).filter(Boolean);
  if (changed) voice.saidOnScreen = new Set();
  const fresh = keys.filter((k) => !voice.saidOnScreen.has(k));
  fresh.forEach((k) => voice.saidOnScreen.add(k));
  if (fresh.length) say(fresh, changed);
  else if (changed) say([], true);
}
function sayHint() {
  const hint = state.screen === "guidance" && state.lines.hint;
  if (!hint) { voice.hint.key = null; return; }
  const now = Date.now();
  if (hint.key !== voice.hint.key) { voice.hint.key = hint.key; voice.hint.since = now; return; }
  const last = voice.hint.said[hint.key] || 0;
  if (now - voice.hint.since >= HINT_STABLE_MS && now - last >= HINT_REPEAT_MS && !voice.current) {
    voice.hint.said[hint.key] = now;
    say([hint.key]);
  }
}
function readAloud(itemNo) {
  fetch("/api/read/" + itemNo).then((r) => r.ok ? r.json() : null).then((p) => { if (p) say([p.key], true); });
}

async function act(name, args) {
  try {
    const r = await fetch("/api/action/" + name, {method: "POST", headers: {"Content-Type": "application/json"},
                                                   body: JSON.stringify(args || {})});
    update(await r.json());
  } catch (e) { /* the next poll redraws */ }
}

async function poll() {
  try {
    const r = await fetch("/api/state", {cache: "no-store"});
    update(await r.json());
  } catch (e) { /* the kiosk app restarts: keep polling */ }
  setTimeout(poll, 400);
}

async function loadPaper(id) {
  if (paper && paper.sitting_id === id) return;
  const r = await fetch("/api/paper");
  if (r.ok) { paper = await r.json(); drawnVersion = -1; update(state); }
}

function update(next) {
  if (!next || !next.screen) return;
  state = next;
  if (voice.current && !voiceOn()) say([], true);  // muted: the sentence being said stops too
  if (state.sitting) {
    clockBase = {seconds: state.sitting.remaining_seconds, at: Date.now()};
    if (!paper || paper.sitting_id !== state.sitting.sitting_id) { loadPaper(state.sitting.sitting_id); }
  }
  if (state.version !== drawnVersion) {
    drawnVersion = state.version;
    const changed = state.screen !== drawnScreen;
    draw();
    sayScreen(changed);
  }
  refresh();
  sayHint();
}

// Parts that change between redraws: frame, network note, banner, notice, clock, guidance, ready button.
function refresh() {
  document.documentElement.classList.toggle("large", !!state.prefs.large);
  $("#large").innerHTML = icon("text") + `<span>${esc(T(state.prefs.large ? "ui.large_off" : "ui.large_on"))}</span>`;
  $("#mute").innerHTML = icon(state.prefs.muted ? "mute" : "sound") +
    `<span>${esc(T(state.prefs.muted ? "ui.sound_off" : "ui.sound_on"))}</span>`;
  $("#mute").hidden = !state.voice.enabled;
  $("#mute").setAttribute("aria-pressed", state.prefs.muted ? "true" : "false");
  $("#brand").textContent = T("brand");
  const net = $("#net");
  net.hidden = state.online;
  net.textContent = T("ui.offline");
  const light = $("#capture-light");
  light.hidden = !state.capturing;
  light.textContent = T("capture.taking");
  const banner = $("#banner");
  banner.hidden = !state.banner;
  banner.textContent = L(state, "banner");
  const notice = $("#notice");
  notice.hidden = !L(state, "notice");
  notice.innerHTML = L(state, "notice") ? icon("camera") + `<span>${esc(L(state, "notice"))}</span>` : "";
  tickClock();
  const hint = $("#hint");
  if (hint && state.guidance) {
    hint.className = "hint" + (state.guidance.code === "ok" ? " ok" : "");
    hint.dataset.code = state.guidance.code;
    hint.innerHTML = icon(state.guidance.code === "ok" ? "check" : state.guidance.icon) + `<span>${esc(L(state, "hint"))}</span>`;
  }
  const ready = $("#ready");
  if (ready) ready.disabled = !state.ready;
  const saved = $("#saved");
  if (saved && saved.classList.contains("offline") === state.online) saved.outerHTML = savedNote(state);
  const offline = $("#offline-note");
  if (offline) offline.hidden = state.online;
}

function tickClock() {
  const el = $("#clock");
  if (!el || !clockBase) return;
  const left = Math.max(0, clockBase.seconds - Math.floor((Date.now() - clockBase.at) / 1000));
  const m = Math.floor(left / 60), s = left % 60;
  el.textContent = `${T("exam.left")} ${m}:${String(s).padStart(2, "0")}`;
  el.classList.toggle("low", left < 300);
}
setInterval(tickClock, 1000);

function draw() {
  clearTimeout(homeTimer);
  // A redraw of the same screen (an answer saved, the network back) must not close the worker's dialog.
  if (state.screen !== drawnScreen) $("#dialog").hidden = true;
  if (state.screen !== drawnScreen) pinTyped = "";
  drawnScreen = state.screen;
  const screen = SCREENS[state.screen] || SCREENS.unknown;
  $("#screen").className = state.screen;
  $("#screen").innerHTML = screen(state);
  document.querySelectorAll("[data-width]").forEach((el) => { el.style.width = el.dataset.width + "%"; });
  const slot = $("#preview-slot");
  if (slot) slot.prepend(preview);
  if (state.screen === "result" || state.screen === "refusal") {
    homeTimer = setTimeout(() => act("home"), HOME_AFTER_MS);
  }
  pinIdle();
}

// Any touch on a PIN screen starts its idle time again; the other screens have none.
function pinIdle() {
  clearTimeout(pinTimer);
  if (state && PIN_SCREENS.includes(state.screen)) pinTimer = setTimeout(() => act("home"), PIN_IDLE_MS);
}

const spinner = (text, extra) => `<div class="center"><div class="spinner"></div><h1>${esc(text)}</h1>${extra || ""}</div>`;
const button = (cls, id, key, attrs) => `<button class="${cls}" id="${id}" ${attrs || ""}>${esc(T(key))}</button>`;

const SCREENS = {
  welcome: (s) => `<div class="center welcome">
      ${icon("card", "big-icon")}
      <h1>${esc(L(s, "title"))}</h1>
      <div class="steps">
        <div class="step"><b>1</b>${icon("card")}<span>${esc(T("welcome.step1"))}</span></div>
        <div class="step"><b>2</b>${icon("face")}<span>${esc(T("welcome.step2"))}</span></div>
        <div class="step"><b>3</b>${icon("check")}<span>${esc(T("welcome.step3"))}</span></div>
      </div>
      <p class="say">${esc(L(s, "say"))}</p>
      <p class="row">${button("primary", "start", "welcome.start", 'data-act="start"')}
        ${s.practice_url && s.online ? button("secondary practice", "practice", "welcome.practice", 'data-local="practice"') : ""}</p>
    </div>`,

  consent_loading: () => spinner(T("consent.loading")),

  consent: (s) => `<div class="consent">
      <h1>${icon("camera")}${esc(L(s, "title"))}</h1>
      <ul class="notice-list">
        <li>${icon("face")}<span>${esc(L(s, "what"))}</span></li>
        <li>${icon("check")}<span>${esc(L(s, "why"))}</span></li>
        <li>${icon("clock")}<span id="consent-keep">${esc(L(s, "keep"))}</span></li>
        <li>${icon("lock")}<span>${esc(L(s, "who"))}</span></li>
      </ul>
      <p class="ask">${esc(L(s, "ask"))}</p>
      <div class="row">${button("secondary", "decline", "consent.decline", 'data-consent="no"')}
        ${button("primary", "accept", "consent.accept", 'data-consent="yes"')}</div>
    </div>`,

  id_entry: (s) => `<div class="id-layout">
      <div class="id-left">
        <h1>${esc(L(s, "title"))}</h1>
        <div class="idbox" id="idbox">${esc(groupId(typed)) || "&nbsp;"}</div>
        <div class="error" id="iderror">${esc(L(s, "error"))}</div>
        <p class="say">${esc(L(s, "say"))}</p>
        <div class="row">${button("secondary", "id-back", "id.back", 'data-act="home"')}
          ${button("primary", "confirm-id", "id.confirm", 'data-local="confirm-id"')}</div>
      </div>
      <div class="keypad">${["1","2","3","4","5","6","7","8","9","X","0","⌫"].map((k) =>
        `<button data-key="${k}"${k === "⌫" ? ` aria-label="${esc(T("id.delete"))}"` : ""}>${k === "⌫" ? `⌫<small>${esc(T("id.delete"))}</small>` : k}</button>`).join("")}</div>
    </div>`,

  checking_in: (s) => spinner(L(s, "say")),

  guidance: (s) => `<div class="split">
      <div class="preview" id="preview-slot"></div>
      <div class="side">
        <div><h2>${esc(L(s, "hello"))}</h2>
          <p>${esc(s.exam.name)}</p>
          <p>${esc(L(s, "exam"))}${s.exam.resuming ? esc(T("guidance.resuming")) : ""}</p></div>
        <div id="hint" class="hint">${icon("face")}<span>${esc(L(s, "hint"))}</span></div>
        <p class="say">${esc(L(s, "say"))}</p>
        <ul class="tips">${[1, 2, 3, 4].map((n) => `<li>✔ ${esc(T("guidance.tip" + n))}</li>`).join("")}</ul>
        ${button("primary", "ready", "guidance.ready", 'disabled data-act="ready"')}
      </div></div>`,

  challenge: challengeScreen,

  verifying: (s) => spinner(L(s, "say"), s.queued ? `<p id="queue-note">${esc(L(s, "queued"))}</p>` : ""),

  retry: (s) => `<div class="center">
      ${icon(s.icon, "big-icon warn-icon")}
      <h1>${esc(L(s, "title"))}</h1><p>${esc(L(s, "message"))}</p>${s.advice ? `<p class="advice">${esc(L(s, "advice"))}</p>` : ""}
      ${s.attempts_left != null ? `<p class="attempts">${esc(L(s, "attempts"))}</p>` : ""}
      <div class="row">${button("secondary", "retry-home", "ui.home", 'data-act="home"')}
        ${button("primary", "retry", "retry.again", 'data-act="retry"')}</div></div>`,

  exam: examScreen,
  review: reviewScreen,

  submitting: (s) => spinner(L(s, "say"),
      `<p id="offline-note" ${s.online ? "hidden" : ""}>${esc(L(s, "offline"))}</p>`),

  pin_offer: (s) => `<div class="center pin-offer">
      ${s.code_qr ? "" : icon("lock", "big-icon")}
      <h1>${esc(L(s, "title"))}</h1>
      <p>${esc(L(s, "what"))}</p>
      ${s.code_qr ? `<div class="cert" id="sign-in-code"><img id="qr" src="/qr.svg?code=${s.version}" alt="${esc(L(s, "qr"))}">
        <p class="qr-note">${esc(L(s, "qr"))}</p></div>` : ""}
      <p class="advice">${esc(L(s, "note"))}</p>
      <p class="say">${esc(L(s, "say"))}</p>
      <div class="row">${button("secondary", "pin-skip", "pin.skip", 'data-act="home"')}
        ${button("primary", "pin-start", "pin.start", 'data-act="pin_start"')}</div></div>`,

  pin_entry: pinEntryScreen,

  pin_saving: (s) => spinner(L(s, "say")),

  pin_done: (s) => `<div class="center pin-done">
      <h1>${icon("check", "ok-icon")}${esc(L(s, "title"))}</h1>
      <div class="cert" id="sign-in"><img id="qr" src="/qr.svg?pin=1" alt="${esc(L(s, "address"))}">
        <div><p>${esc(L(s, "how"))}</p><p class="address" id="sign-in-url">${esc(L(s, "address"))}</p></div></div>
      <p>${esc(L(s, "remember"))}</p>
      <p class="say">${esc(L(s, "say"))}</p>
      <p>${button("primary", "pin-finish", "pin.finish", 'data-act="home"')}</p></div>`,

  pin_failed: (s) => `<div class="center">
      ${icon("lock", "big-icon warn-icon")}
      <h1>${esc(L(s, "title"))}</h1><p id="pin-failed-message">${esc(L(s, "message"))}</p>
      <p class="say">${esc(L(s, "say"))}</p>
      <p>${button("primary", "pin-finish", "pin.finish", 'data-act="home"')}</p></div>`,

  result: resultScreen,

  refusal: (s) => `<div class="center" id="refusal" data-code="${esc(s.code)}">
      ${icon(s.icon, "big-icon warn-icon")}
      <h1>${esc(L(s, "title"))}</h1><p>${esc(L(s, "message"))}</p>${s.advice ? `<p class="advice">${esc(L(s, "advice"))}</p>` : ""}
      <p>${button("primary", "home", "ui.home", 'data-act="home"')}</p></div>`,

  unknown: () => spinner(T("ui.wait")),
};

const STEP_ICONS = {turn_left: "arrow_left", turn_right: "arrow_right", blink: "blink", open_mouth: "mouth", nod: "nod"};

// The challenge as the server sends it: one or several steps, each drawn with its own instruction.
function challengeScreen(s) {
  const steps = s.challenge.steps && s.challenge.steps.length ? s.challenge.steps
    : [{kind: s.challenge.kind, instruction: s.challenge.prompt}];
  const list = steps.map((step, n) => `<li class="cue" data-kind="${esc(step.kind)}">
      ${icon(STEP_ICONS[step.kind] || "face", "arrow " + esc(step.kind))}
      <span>${steps.length > 1 ? `<b>${n + 1}</b>` : ""}${esc(L(s, "step" + n))}</span></li>`).join("");
  const status = s.phase === "countdown" ? `<div class="count">${s.count}</div><p>${esc(L(s, "countdown"))}</p>`
                                        : `<div class="rec">${esc(L(s, "recording"))}</div>`;
  return `<div class="split">
      <div class="preview" id="preview-slot"></div>
      <div class="side center"><p class="say">${esc(L(s, "say"))}</p><ol class="cues steps-${steps.length}">${list}</ol>${status}</div></div>`;
}

function groupId(v) { return v.replace(/^(.{6})(.{0,8})(.*)$/, (m, a, b, c) => [a, b, c].filter(Boolean).join(" ")); }

// Six boxes, a dot for each digit typed: the PIN itself is never drawn, someone may stand behind the worker.
function pinBoxes() {
  return [0, 1, 2, 3, 4, 5].map((n) => `<span class="${n < pinTyped.length ? "filled" : ""}">${n < pinTyped.length ? "●" : ""}</span>`).join("");
}

function pinEntryScreen(s) {
  return `<div class="id-layout pin-entry" data-phase="${esc(s.phase)}">
      <div class="id-left">
        <h1>${esc(L(s, "title"))}</h1>
        <div class="pinbox" id="pinbox">${pinBoxes()}</div>
        <div class="error" id="pin-error">${esc(L(s, "error"))}</div>
        ${s.lines.tip ? `<p class="advice">${esc(L(s, "tip"))}</p>` : ""}
        <p class="say">${esc(L(s, "say"))}</p>
        <div class="row">${button("secondary", "pin-skip", "pin.skip", 'data-act="home"')}
          ${button("primary", "pin-confirm", "pin.confirm", `data-local="pin-confirm"${pinTyped.length === 6 ? "" : " disabled"}`)}</div>
      </div>
      <div class="keypad">${["1","2","3","4","5","6","7","8","9","","0","⌫"].map((k) => k === ""
        ? "<span></span>"
        : `<button data-pin="${k}"${k === "⌫" ? ` aria-label="${esc(T("pin.delete"))}"` : ""}>${k === "⌫" ? `⌫<small>${esc(T("pin.delete"))}</small>` : k}</button>`).join("")}</div>
    </div>`;
}

function pressPin(key) {
  if (key === "⌫") pinTyped = pinTyped.slice(0, -1);
  else if (pinTyped.length < 6) pinTyped += key;
  $("#pinbox").innerHTML = pinBoxes();
  $("#pin-error").textContent = "";
  $("#pin-confirm").disabled = pinTyped.length !== 6;
}

function press(key) {
  if (key === "⌫") typed = typed.slice(0, -1);
  else if (typed.length < 18) typed += key;
  $("#idbox").innerHTML = esc(groupId(typed)) || "&nbsp;";
  $("#iderror").textContent = "";
}

function savedNote(s) {
  return `<div class="saved${s.online ? "" : " offline"}" id="saved">${icon("save")}<span>${esc(T(s.online ? "exam.saved" : "exam.saved_offline"))}</span></div>`;
}

function tiles(s) {
  const answers = s.sitting.answers;
  return paper.questions.map((q, i) =>
    `<button class="${answers[String(q.item_no)] ? "done" : ""}${i === s.sitting.current ? " here" : ""}" data-act="goto" data-index="${i}">${i + 1}</button>`).join("");
}

function examScreen(s) {
  if (!paper || paper.sitting_id !== s.sitting.sitting_id) return spinner(T("ui.wait"));
  const i = s.sitting.current, q = paper.questions[i], total = paper.questions.length;
  const chosen = s.sitting.answers[String(q.item_no)] || "";
  const options = q.options.map((o) => {
    const mark = q.type === "truefalse" ? (o.text.includes("错") ? "✗" : "✓") : o.letter;
    return `<button class="option${chosen.includes(o.letter) ? " chosen" : ""}" data-letter="${o.letter}"
      data-item="${q.item_no}" data-type="${q.type}"><span class="letter">${mark}</span><span>${esc(o.text)}</span></button>`;
  }).join("");
  const progress = T("exam.progress").replace("{number}", `<b>${i + 1}</b>`).replace("{total}", String(total));
  return `<div class="exam-top"><span id="progress-text">${progress}</span>
      <div class="progress"><div data-width="${Math.round(100 * s.sitting.answered / total)}"></div></div>
      ${savedNote(s)}<span class="clock" id="clock"></span></div>
    <p class="exam-say">${esc(L(s, "say"))}</p>
    <div class="exam-body"><div class="stem"><span class="qtype">${esc(T("exam." + q.type))}</span>${esc(q.stem)}
      <button class="read" id="read" data-read="${q.item_no}">${icon("sound")}${esc(T("exam.read"))}</button>
      ${q.image ? `<img class="qimage" src="/api/paper/image/${q.item_no}" alt="">` : ""}</div>
    <div class="options scroll">${options}</div></div>
    <div class="mini-card scroll" aria-label="${esc(T("exam.card"))}">${tiles(s)}</div>
    <div class="nav"><button class="secondary" id="prev" ${i === 0 ? "disabled" : ""} data-act="goto" data-index="${i - 1}">◀ ${esc(T("exam.prev"))}</button>
      ${button("secondary", "review", "exam.card", 'data-act="review"')}
      ${i + 1 < total ? `<button class="primary" id="next" data-act="goto" data-index="${i + 1}">${esc(T("exam.next"))} ▶</button>`
                      : `<button class="primary" id="to-review" data-act="review">${esc(T("exam.to_review"))} ▶</button>`}</div>`;
}

function choose(itemNo, type, letter) {
  const now = state.sitting.answers[String(itemNo)] || "";
  let response = letter;
  if (type === "multiple") response = now.includes(letter) ? now.replace(letter, "") : now + letter;
  act("answer", {item_no: itemNo, response: response.split("").sort().join("")});
}

function reviewScreen(s) {
  if (!paper) return spinner(T("ui.wait"));
  const answers = s.sitting.answers, total = paper.questions.length;
  const left = paper.questions.filter((q) => !answers[String(q.item_no)]).length;
  return `<div class="exam-top"><h2 class="grow">${esc(L(s, "title"))}</h2><span class="clock" id="clock"></span></div>
    <p class="say">${esc(L(s, "say"))}</p>
    <div class="legend"><span class="done">${esc(T("review.done").replace("{count}", total - left))}</span>
      <span class="todo">${esc(T("review.todo").replace("{count}", left))}</span>${savedNote(s)}</div>
    <div class="grid rows-${Math.ceil(total / 10)}">${tiles(s)}</div>
    <div class="nav"><button class="secondary" id="back-to-exam" data-act="goto" data-index="${s.sitting.current}">◀ ${esc(T("review.back"))}</button>
      <button class="danger" id="submit" data-local="submit" data-left="${left}">${esc(T("review.submit"))}</button></div>`;
}

function confirmSubmit(left) {
  const d = $("#dialog");
  d.innerHTML = `<div class="box">${icon("check", "big-icon")}<h1>${esc(T("confirm.title"))}</h1>
    ${left ? `<p>${esc(L(state, "confirm_left"))}</p>` : ""}<p>${esc(T("confirm.final"))}</p>
    <div class="row">${button("secondary", "cancel-submit", "confirm.cancel", 'data-local="close"')}
      ${button("danger", "confirm-submit", "confirm.submit", 'data-act="submit"')}</div></div>`;
  d.hidden = false;
  say(["confirm.title", ...(left ? [state.lines.confirm_left.key] : []), "confirm.final"], true);
}

function resultScreen(s) {
  const r = s.result, cert = r.certificate;
  const letters = (v) => v ? v.split("").join("、") : T("result.none");
  const review = (r.review || []).map((item) => `<li class="wrong" data-item="${item.item_no}">
      <p><b>${item.item_no}.</b> <span class="yours">${esc(T("result.yours").replace("{letters}", letters(item.response)))}</span>
        <span class="right-answer">${esc(T("result.right").replace("{letters}", letters(item.answer)))}</span></p>
      <p class="q">${esc(item.stem)}</p>
      ${item.basis ? `<p class="basis">${esc(T("result.basis").replace("{basis}", item.basis))}</p>` : ""}
      <ul class="opts">${item.options.map((o) => `<li class="${item.answer.includes(o.letter) ? "right" : ""}${item.response.includes(o.letter) ? " picked" : ""}">${o.letter}. ${esc(o.text)}</li>`).join("")}</ul></li>`).join("");
  return `<div class="result">
    <div class="summary">
      <div class="verdict-row">${icon(r.passed ? "check" : "cross", "big-icon " + (r.passed ? "ok-icon" : "bad-icon"))}
        <div><h1 id="verdict">${esc(L(s, "verdict"))}</h1><div class="score" id="score">${esc(L(s, "score"))}</div></div></div>
      <p id="mark">${esc(L(s, "mark"))}</p>
      ${cert ? `<div class="cert" id="certificate"><img id="qr" src="/qr.svg?n=${esc(cert.number)}" alt="${esc(L(s, "qr"))}">
          <div><p>${esc(L(s, "certificate"))}</p><p id="issued-on">${esc(L(s, "issued_on"))}</p>
          <p>${esc(L(s, "valid_until"))}</p><p class="qr-note">${esc(L(s, "qr"))}</p></div></div>` : ""}
      ${s.lines.retake ? `<p class="retake" id="retake">${esc(L(s, "retake"))}</p>` : ""}
      ${s.lines.weakest ? `<p class="weakest" id="weakest">${esc(L(s, "weakest"))}</p>` : ""}
      ${s.pin_offer ? `<p class="pin-note" id="pin-note">${esc(L(s, "pin"))}</p>` : ""}
      <p class="done-row">${s.pin_offer ? button("secondary", "pin-offer", "pin.offer_button", 'data-act="pin_offer"') : ""}
        ${button("primary", "done", "result.done", 'data-act="home"')}</p>
    </div>
    ${r.review ? `<div class="review-list"><h2>${esc(L(s, "review"))}</h2><ol class="scroll" id="wrong-answers">${review}</ol></div>` : ""}
  </div>`;
}

// 练习题目: the server's worker pages in this browser, in kiosk mode; their 结束练习 (or idle time) signs the worker
// out and comes back to this page's own address.
function openPractice() {
  window.location.assign(state.practice_url + "?back=" + encodeURIComponent(window.location.origin + "/"));
}

// One listener for every button: inline handlers are forbidden by the page's Content-Security-Policy.
document.addEventListener("click", (event) => {
  const el = event.target.closest("button");
  if (!el || el.disabled) return;
  const d = el.dataset;
  pinIdle();
  if (d.key) press(d.key);
  else if (d.pin) pressPin(d.pin);
  else if (d.local === "pin-confirm") { const pin = pinTyped; pinTyped = ""; act("pin", {pin: pin}); }
  else if (d.item) choose(Number(d.item), d.type, d.letter);
  else if (d.read) readAloud(Number(d.read));
  else if (d.consent) act("consent", {accepted: d.consent === "yes"});
  else if (d.local === "confirm-id") act("citizen_id", {citizen_id: typed});
  else if (d.local === "submit") confirmSubmit(Number(d.left));
  else if (d.local === "close") $("#dialog").hidden = true;
  else if (d.local === "practice") openPractice();
  else if (d.act === "home") { typed = ""; act("home"); }
  else if (d.act === "goto") act("goto", {index: Number(d.index)});
  else if (d.act) act(d.act);
});

fetch("/api/texts").then((r) => r.json()).then((p) => { PHRASES = p; poll(); });
