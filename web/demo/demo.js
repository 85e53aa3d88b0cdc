// voxgate demo: join a session from the browser over WebRTC, watch its
// events on the /connect stream, dial and hang up calls. Plain JavaScript,
// no build step. window.voxgate exposes the page's state for tests.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { status: "idle", events: [], energy: 0, callId: null };
window.voxgate = state;

let pc = null;
let stream = null;
let ws = null;

function log(...args) { console.log("voxgate-demo:", ...args); }

function setStatus(text, kind) {
  state.status = text;
  const el = $("status");
  el.textContent = text;
  el.className = "pill" + (kind ? " " + kind : "");
  log("status", text);
}

function showEvent(type, detail, isError) {
  state.events.push(type);
  const li = document.createElement("li");
  if (isError) li.className = "error";
  const t = document.createElement("span");
  t.className = "type";
  t.textContent = type;
  li.append(t, " ", detail || "");
  $("events").prepend(li);
  log("event", type, detail || "");
}

// api calls the REST API with the API key, or with the stream token when
// the route accepts one.
async function api(method, path, body, { useToken = false } = {}) {
  const headers = {};
  const key = $("apiKey").value.trim();
  let url = path;
  if (useToken && !key) {
    url += (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent($("token").value.trim());
  } else if (key) {
    headers.Authorization = "Bearer " + key;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = data.error || {};
    throw new Error(`${res.status} ${e.code || ""}: ${e.message || res.statusText}`);
  }
  return data;
}

function sessionId() { return $("sessionId").value.trim(); }

async function createSession() {
  try {
    const s = await api("POST", "/v1/sessions", { mode: $("mode").value });
    $("sessionId").value = s.id;
    $("token").value = s.stream.token;
    showEvent("session.created", s.id);
    connectEvents();
  } catch (err) { showEvent("error", err.message, true); }
}

// connectEvents opens the /connect stream for events only (audio=none).
function connectEvents() {
  if (ws) ws.close();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${proto}//${location.host}/v1/sessions/${encodeURIComponent(sessionId())}/connect` +
    `?token=${encodeURIComponent($("token").value.trim())}&audio=none`;
  ws = new WebSocket(url);
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    if (msg.type === "audio.output") return;
    showEvent(msg.type, describe(msg), msg.type === "session.error");
    if (msg.type === "session.ended") setStatus("session ended", "bad");
  };
  ws.onclose = (e) => { if (e.code !== 1000) showEvent("stream.closed", `code ${e.code} ${e.reason}`, e.code !== 1000); };
}

function describe(msg) {
  if (msg.type.startsWith("transcript.")) return `${msg.speaker}: ${msg.text}`;
  if (msg.type === "session.error") return `${msg.code}: ${msg.message}`;
  if (msg.type === "session.ended") return msg.reason;
  const call = msg.data && msg.data.call;
  if (call) return `${call.id} ${call.direction} ${call.transport} ${call.status}${call.hangup_cause ? " (" + call.hangup_cause + ")" : ""}`;
  if (msg.type === "dtmf.received" && msg.data) return msg.data.digit;
  return "";
}

async function join() {
  $("join").disabled = true;
  try {
    if (!ws) connectEvents();
    // ?processing=off turns the browser's voice processing off (for tests
    // that send a tone, which noise suppression would treat as noise).
    const raw = new URLSearchParams(location.search).get("processing") === "off";
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: !raw, noiseSuppression: !raw, autoGainControl: !raw },
    });
    pc = new RTCPeerConnection();
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    pc.ontrack = (e) => { $("remote").srcObject = e.streams[0] || new MediaStream([e.track]); };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      setStatus(s, s === "connected" ? "ok" : (s === "failed" || s === "closed") ? "bad" : "");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    const body = { sdp: pc.localDescription.sdp, type: "offer" };
    if ($("speaker").value) body.speaker = $("speaker").value;
    const answer = await api("POST", `/v1/sessions/${encodeURIComponent(sessionId())}/webrtc`, body, { useToken: true });
    state.callId = answer.call_id;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    $("leave").disabled = false;
    watchLevel();
  } catch (err) {
    showEvent("error", err.message, true);
    $("join").disabled = false;
  }
}

function iceGathered(peer) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (peer.iceGatheringState === "complete") resolve(); };
    peer.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000); // send what we have
  });
}

// watchLevel shows how much audio arrives from the other side.
function watchLevel() {
  const timer = setInterval(async () => {
    if (!pc) { clearInterval(timer); return; }
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") {
        state.energy = r.totalAudioEnergy || 0;
        $("energy").textContent = state.energy.toFixed(3);
        $("level").value = r.audioLevel || 0;
      }
    });
  }, 500);
}

function leave() {
  if (pc) pc.close();
  if (stream) stream.getTracks().forEach((t) => t.stop());
  pc = null; stream = null;
  $("join").disabled = false;
  $("leave").disabled = true;
  setStatus("left");
}

async function dial() {
  try {
    const call = await api("POST", `/v1/sessions/${encodeURIComponent(sessionId())}/dial`, { to: $("dialTo").value.trim() });
    showEvent("dialing", `${call.id} → ${call.to}`);
  } catch (err) { showEvent("error", err.message, true); }
}

async function hangup() {
  try { await api("POST", `/v1/sessions/${encodeURIComponent(sessionId())}/hangup`, {}); }
  catch (err) { showEvent("error", err.message, true); }
}

async function endSession() {
  if (ws && ws.readyState === WebSocket.OPEN && !$("apiKey").value.trim()) {
    ws.send(JSON.stringify({ type: "session.end" }));
    return;
  }
  try { await api("POST", `/v1/sessions/${encodeURIComponent(sessionId())}/end`); }
  catch (err) { showEvent("error", err.message, true); }
}

$("create").onclick = createSession;
$("join").onclick = join;
$("leave").onclick = leave;
$("dial").onclick = dial;
$("hangup").onclick = hangup;
$("end").onclick = endSession;

// ?session=sess_…&token=kst_…[&speaker=customer][&autojoin=1] fills the form
// (a link to share), and joins at once with autojoin.
const params = new URLSearchParams(location.search);
if (params.get("session")) $("sessionId").value = params.get("session");
if (params.get("token")) $("token").value = params.get("token");
if (params.get("speaker")) $("speaker").value = params.get("speaker");
if (params.get("session") && params.get("token")) connectEvents();
if (params.get("autojoin") === "1") join();
