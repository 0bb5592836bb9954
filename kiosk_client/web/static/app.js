// The worker's screen: draws the kiosk's state and sends button presses; the kiosk holds the token.
"use strict";
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const TYPES = {single: "单选题", multiple: "多选题（可选多个）", truefalse: "判断题"};
const HOME_AFTER_MS = 60000;  // result and refusal screens go back to the welcome screen by themselves

let state = null, drawnVersion = -1, drawnScreen = null, paper = null, typed = "", clockBase = null, homeTimer = null;

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
  if (state.sitting) {
    clockBase = {seconds: state.sitting.remaining_seconds, at: Date.now()};
    if (!paper || paper.sitting_id !== state.sitting.sitting_id) { loadPaper(state.sitting.sitting_id); }
  }
  if (state.version !== drawnVersion) { drawnVersion = state.version; draw(); }
  refresh();
}

// Parts that change between redraws: network note, banner, clock, guidance, ready button.
function refresh() {
  const net = $("#net");
  net.hidden = state.online;
  net.textContent = "网络中断 · 答案已保存在本机";
  const banner = $("#banner");
  banner.hidden = !state.banner;
  banner.textContent = state.banner || "";
  tickClock();
  const hint = $("#hint");
  if (hint && state.guidance) {
    hint.className = "hint" + (state.guidance.code === "ok" ? " ok" : "");
    hint.innerHTML = icon(state.guidance.code === "ok" ? "check" : state.guidance.icon) + `<span>${esc(state.guidance.text)}</span>`;
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
  el.textContent = `剩余 ${m}:${String(s).padStart(2, "0")}`;
  el.classList.toggle("low", left < 300);
}
setInterval(tickClock, 1000);

function draw() {
  clearTimeout(homeTimer);
  // A redraw of the same screen (an answer saved, the network back) must not close the worker's dialog.
  if (state.screen !== drawnScreen) $("#dialog").hidden = true;
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
}

const spinner = (text, extra) => `<div class="center"><div class="spinner"></div><h1>${esc(text)}</h1>${extra || ""}</div>`;

const SCREENS = {
  welcome: () => `<div class="center">
      ${icon("card", "big-icon")}
      <h1>欢迎参加安全生产培训考试</h1>
      <div class="steps">
        <div class="step"><b>1</b>${icon("card")}刷身份证</div>
        <div class="step"><b>2</b>${icon("face")}对着摄像头</div>
        <div class="step"><b>3</b>${icon("check")}答题交卷</div>
      </div>
      <p>请把身份证放在读卡器上，或者点下面的按钮。</p>
      <p><button class="primary" id="start" data-act="start">开始考试</button></p>
    </div>`,

  id_entry: (s) => `<div class="id-layout">
      <div class="id-left">
        <h1>请输入身份证号</h1>
        <div class="idbox" id="idbox">${esc(groupId(typed)) || "&nbsp;"}</div>
        <div class="error" id="iderror">${esc(s.error || "")}</div>
        <p>输错了，点 ⌫ 删除一位。</p>
        <div class="row"><button class="secondary" data-act="home">返回</button>
          <button class="primary" id="confirm-id" data-local="confirm-id">确定</button></div>
      </div>
      <div class="keypad">${["1","2","3","4","5","6","7","8","9","X","0","⌫"].map((k) =>
        `<button data-key="${k}">${k}</button>`).join("")}</div>
    </div>`,

  checking_in: () => spinner("正在查询您的考试，请稍等…"),

  guidance: (s) => `<div class="split">
      <div class="preview" id="preview-slot"></div>
      <div class="side">
        <div><h2>${esc(s.worker.name_masked)}，您好</h2>
          <p>${esc(s.exam.name)}</p>
          <p>共 ${s.exam.question_count} 题，${s.exam.duration_minutes} 分钟${s.exam.resuming ? "（继续上次的考试）" : ""}</p></div>
        <div id="hint" class="hint">${icon("face")}<span>请看着屏幕</span></div>
        <ul class="tips"><li>✔ 只能一个人</li><li>✔ 离摄像头近一点</li><li>✔ 光线要亮</li><li>✔ 眼睛看摄像头</li></ul>
        <button class="primary" id="ready" disabled data-act="ready">我准备好了</button>
      </div></div>`,

  challenge: (s) => {
    const kind = s.challenge.kind;
    const arrow = kind === "turn_left" ? icon("arrow_left", "arrow left") : kind === "turn_right" ? icon("arrow_right", "arrow right") : icon("blink", "arrow blink");
    const status = s.phase === "countdown" ? `<div class="count">${s.count}</div><p>准备好，看着摄像头</p>` : `<div class="rec">正在拍摄，请照着做</div>`;
    return `<div class="split">
      <div class="preview" id="preview-slot"></div>
      <div class="side center">${arrow}<h1>${esc(s.challenge.prompt)}</h1>${status}</div></div>`;
  },

  verifying: (s) => spinner("正在核对人脸，请稍等…", s.queued
      ? `<p id="queue-note">排队核对的人比较多，大约 ${s.queued} 秒后自动再核对一次。请站在原地，不用重新拍照。</p>` : ""),

  retry: (s) => `<div class="center">
      ${icon(s.icon, "big-icon warn-icon")}
      <h1>${esc(s.title)}</h1><p>${esc(s.message)}</p>${s.advice ? `<p class="advice">${esc(s.advice)}</p>` : ""}
      ${s.attempts_left != null ? `<p>还可以再试 <b>${s.attempts_left}</b> 次</p>` : ""}
      <div class="row"><button class="secondary" data-act="home">返回首页</button>
        <button class="primary" id="retry" data-act="retry">再试一次</button></div></div>`,

  exam: examScreen,
  review: reviewScreen,

  submitting: (s) => spinner("正在交卷，请稍等…",
      `<p id="offline-note" ${s.online ? "hidden" : ""}>网络中断了。您的答案已安全保存在本机，网络恢复后会自动交卷，请不要离开。</p>`),

  result: (s) => {
    const r = s.result;
    return `<div class="center">
      ${icon(r.passed ? "check" : "cross", "big-icon " + (r.passed ? "ok-icon" : "bad-icon"))}
      <h1 id="verdict">${r.passed ? "恭喜您，考试通过" : "这次没有通过"}</h1>
      <div class="score" id="score">${r.score} 分</div>
      <p>满分 ${r.max_score} 分，${r.pass_mark} 分及格</p>
      ${r.certificate ? `<p id="certificate">证书编号：${esc(r.certificate.number)}<br>
        发证日期：<span id="issued-on">${esc(r.certificate.issued_on)}</span>，有效期至 ${esc(r.certificate.valid_until)}</p>` : ""}
      ${r.passed ? "" : "<p>请好好复习，下次再来考。</p>"}
      <p><button class="primary" id="done" data-act="home">完成</button></p></div>`;
  },

  refusal: (s) => `<div class="center" id="refusal" data-code="${esc(s.code)}">
      ${icon(s.icon, "big-icon warn-icon")}
      <h1>${esc(s.title)}</h1><p>${esc(s.message)}</p>
      <p><button class="primary" id="home" data-act="home">返回首页</button></p></div>`,

  unknown: () => spinner("请稍等…"),
};

function groupId(v) { return v.replace(/^(.{6})(.{0,8})(.*)$/, (m, a, b, c) => [a, b, c].filter(Boolean).join(" ")); }

function press(key) {
  if (key === "⌫") typed = typed.slice(0, -1);
  else if (typed.length < 18) typed += key;
  $("#idbox").innerHTML = esc(groupId(typed)) || "&nbsp;";
  $("#iderror").textContent = "";
}

function savedNote(s) {
  return `<div class="saved${s.online ? "" : " offline"}" id="saved">${icon("save")}<span>${s.online ? "答案已自动保存" : "网络断了，答案已保存在本机，请继续答题"}</span></div>`;
}

function examScreen(s) {
  if (!paper || paper.sitting_id !== s.sitting.sitting_id) return spinner("正在打开试卷…");
  const i = s.sitting.current, q = paper.questions[i], total = paper.questions.length;
  const chosen = s.sitting.answers[String(q.item_no)] || "";
  const options = q.options.map((o) => {
    const mark = q.type === "truefalse" ? (o.text.includes("错") ? "✗" : "✓") : o.letter;
    return `<button class="option${chosen.includes(o.letter) ? " chosen" : ""}" data-letter="${o.letter}"
      data-item="${q.item_no}" data-type="${q.type}"><span class="letter">${mark}</span><span>${esc(o.text)}</span></button>`;
  }).join("");
  return `<div class="exam-top"><span id="progress-text">第 <b>${i + 1}</b> 题 / 共 ${total} 题</span>
      <div class="progress"><div data-width="${Math.round(100 * s.sitting.answered / total)}"></div></div>
      ${savedNote(s)}<span class="clock" id="clock"></span></div>
    <div class="stem"><span class="qtype">${TYPES[q.type] || ""}</span>${esc(q.stem)}</div>
    <div class="options">${options}</div>
    <div class="nav"><button class="secondary" id="prev" ${i === 0 ? "disabled" : ""} data-act="goto" data-index="${i - 1}">◀ 上一题</button>
      <button class="secondary" id="review" data-act="review">答题卡</button>
      ${i + 1 < total ? `<button class="primary" id="next" data-act="goto" data-index="${i + 1}">下一题 ▶</button>`
                      : `<button class="primary" id="to-review" data-act="review">去交卷 ▶</button>`}</div>`;
}

function choose(itemNo, type, letter) {
  const now = state.sitting.answers[String(itemNo)] || "";
  let response = letter;
  if (type === "multiple") response = now.includes(letter) ? now.replace(letter, "") : now + letter;
  act("answer", {item_no: itemNo, response: response.split("").sort().join("")});
}

function reviewScreen(s) {
  if (!paper) return spinner("正在打开试卷…");
  const answers = s.sitting.answers, total = paper.questions.length;
  const left = paper.questions.filter((q) => !answers[String(q.item_no)]).length;
  const tiles = paper.questions.map((q, i) =>
    `<button class="${answers[String(q.item_no)] ? "done" : ""}" data-act="goto" data-index="${i}">${i + 1}</button>`).join("");
  return `<div class="exam-top"><h2 class="grow">答题卡：点数字可以回去修改</h2><span class="clock" id="clock"></span></div>
    <div class="legend"><span class="done">已答 ${total - left} 题</span><span class="todo">没答 ${left} 题</span></div>
    <div class="grid">${tiles}</div>
    ${savedNote(s)}
    <div class="nav"><button class="secondary" id="back-to-exam" data-act="goto" data-index="${s.sitting.current}">◀ 回去答题</button>
      <button class="danger" id="submit" data-local="submit" data-left="${left}">交卷</button></div>`;
}

function confirmSubmit(left) {
  const d = $("#dialog");
  d.innerHTML = `<div class="box">${icon("check", "big-icon")}<h1>确定交卷吗？</h1>
    ${left ? `<p>还有 <b>${left}</b> 题没有答。</p>` : ""}<p>交卷后不能再修改。</p>
    <div class="row"><button class="secondary" id="cancel-submit" data-local="close">再看看</button>
      <button class="danger" id="confirm-submit" data-act="submit">确定交卷</button></div></div>`;
  d.hidden = false;
}

// One listener for every button: inline handlers are forbidden by the page's Content-Security-Policy.
document.addEventListener("click", (event) => {
  const el = event.target.closest("button");
  if (!el || el.disabled) return;
  const d = el.dataset;
  if (d.key) press(d.key);
  else if (d.item) choose(Number(d.item), d.type, d.letter);
  else if (d.local === "confirm-id") act("citizen_id", {citizen_id: typed});
  else if (d.local === "submit") confirmSubmit(Number(d.left));
  else if (d.local === "close") $("#dialog").hidden = true;
  else if (d.act === "home") { typed = ""; act("home"); }
  else if (d.act === "goto") act("goto", {index: Number(d.index)});
  else if (d.act) act(d.act);
});

poll();
