"""The eye's page: one self-contained HTML document (no outside resources), driven by the
JSON API of tuner.judging.server. No TF."""

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>The eye</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#222;color:#eee;text-align:center}
header{padding:.6em;background:#111;display:flex;justify-content:space-between;align-items:center}
#progress{font-variant-numeric:tabular-nums}
main{padding:1em}
.pair{display:flex;gap:2em;justify-content:center;align-items:flex-start}
.pair img{width:min(44vw,560px);image-rendering:auto;background:#fff}
#face-img{width:256px;height:256px;image-rendering:auto;background:#000}
#mask{width:256px;height:256px;margin:auto;
background:repeating-linear-gradient(45deg,#444 0 8px,#333 8px 16px)}
button{font-size:1.1em;margin:.6em .4em;padding:.5em 1.2em;border-radius:6px;border:0;cursor:pointer}
.answers button{background:#4a7;color:#fff}
#undo{background:#666;color:#fff}
.hint{color:#aaa;font-size:.9em}
[hidden]{display:none!important}
</style></head>
<body>
<header><span id="title">The eye</span><span id="progress"></span>
<button id="undo" title="take back the last answer (Backspace)">Undo</button></header>
<main>
<section id="judge" hidden><p>Who is judging? (asked once; kept with each answer)</p>
<input id="judge-name" autocomplete="name"> <button id="judge-ok">Start</button></section>
<section id="pair" hidden><h2>Which set of faces looks better?</h2>
<div class="pair"><img id="left-img" alt="left"><img id="right-img" alt="right"></div>
<div class="answers"><button id="left">Left (&larr; or 1)</button>
<button id="tie">Can't tell (&darr; or 3)</button>
<button id="right">Right (&rarr; or 2)</button></div></section>
<section id="face" hidden><h2>Real photograph or generated?</h2>
<img id="face-img" alt="face"><div id="mask" hidden></div>
<div class="answers"><button id="real">Real (&larr; or 1)</button>
<button id="generated">Generated (&rarr; or 2)</button></div></section>
<section id="done" hidden><h2>All answered - thank you.</h2>
<p class="hint">The results: <code>python -m tuner.leaderboard STUDY --html</code></p></section>
<p id="message" class="hint"></p>
<p class="hint">Answers are saved at once; reload or come back later to go on.</p>
</main>
<script>
const token = new URLSearchParams(location.search).get("t");
const kept = "eye-session-" + token;  // this tab's session: a reload goes on with it
let sid = sessionStorage.getItem(kept) || "";
const q = () => "?t=" + encodeURIComponent(token) + (sid ? "&s=" + encodeURIComponent(sid) : "");
let state = null, busy = false, timer = null;
const $ = id => document.getElementById(id);

async function call(path, body) {
  const r = await fetch(path + q(), body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const s = await r.json();
  $("message").textContent = s.error || "";
  return s.item === undefined ? state || s : s;
}

function show(s) {
  if (s.total === undefined) return;  // an error without a state: stay where we are
  if (s.session) { sid = s.session; sessionStorage.setItem(kept, sid); }
  state = s;
  $("progress").textContent = s.judge ? s.answered + " / " + s.total + " answered" : "";
  $("undo").disabled = s.answered === 0;
  for (const id of ["judge", "pair", "face", "done"]) $(id).hidden = true;
  clearTimeout(timer);
  if (!s.judge) { $("judge").hidden = false; $("judge-name").focus(); return; }
  const item = s.item;
  if (!item) { $("done").hidden = false; return; }
  document.body.dataset.index = item.index;
  document.body.dataset.task = item.task;
  if (item.task === "pair") {
    $("left-img").src = "/img/" + item.images.left + q();
    $("right-img").src = "/img/" + item.images.right + q();
    $("pair").hidden = false;
  } else {
    const img = $("face-img");
    img.hidden = false; $("mask").hidden = true;
    img.onload = () => {
      if (s.exposure_ms > 0) timer = setTimeout(() => { img.hidden = true; $("mask").hidden = false; },
                                               s.exposure_ms);
    };
    img.src = "/img/" + item.images.face + q();
    $("face").hidden = false;
  }
}

async function answer(a) {
  if (busy || !state || !state.item || !state.judge) return;
  const ok = state.item.task === "pair" ? ["left", "right", "tie"] : ["real", "generated"];
  if (!ok.includes(a)) return;
  busy = true;
  try { show(await call("/api/answer", {index: state.item.index, answer: a})); } finally { busy = false; }
}

async function undo() {
  if (busy || !state || state.answered === 0) return;
  busy = true;
  try { show(await call("/api/undo", {})); } finally { busy = false; }
}

for (const a of ["left", "right", "tie", "real", "generated"]) $(a).onclick = () => answer(a);
$("undo").onclick = undo;
$("judge-ok").onclick = async () => {
  const name = $("judge-name").value.trim();
  if (name) { sid = ""; show(await call("/api/judge", {name})); }
};
$("judge-name").onkeydown = e => { if (e.key === "Enter") $("judge-ok").click(); };
document.addEventListener("keydown", e => {
  if (!state || !state.item || !state.judge || e.target.tagName === "INPUT") return;
  const pair = state.item.task === "pair";
  const keys = pair ? {ArrowLeft: "left", "1": "left", ArrowRight: "right", "2": "right",
                       ArrowDown: "tie", "3": "tie"}
                    : {ArrowLeft: "real", "1": "real", ArrowRight: "generated", "2": "generated"};
  if (e.key === "Backspace") { e.preventDefault(); undo(); }
  else if (keys[e.key]) { e.preventDefault(); answer(keys[e.key]); }
});
call("/api/state").then(show);
</script></body></html>
"""
