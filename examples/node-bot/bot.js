// A voice bot for Twilio Media Streams, in Node.js with the `ws` package.
// When a call starts it greets the caller with a short tone (generated
// here, sent as base64 μ-law like any Twilio bot sends speech) and asks
// for a mark once the greeting has played. Point a voxgate session's or
// agent's stream_url at it with stream_protocol "twilio".
//
//   BOT_TOKEN=secret PORT=8766 node bot.js
//
// It prints "listening ws://…" once, then each message other than media
// as "event <json>".
'use strict';
const { WebSocketServer } = require('ws');

const token = process.env.BOT_TOKEN || '';
const port = Number(process.env.PORT || 0);
const greetingHz = Number(process.env.GREETING_HZ || 440);
const greetingMs = Number(process.env.GREETING_MS || 3000);

// linearToMulaw encodes one 16-bit sample as G.711 μ-law.
function linearToMulaw(sample) {
  const BIAS = 0x84, CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

// greeting is the tone as 20 ms frames of base64 μ-law at 8 kHz.
function greeting() {
  const frames = [];
  const n = Math.round(8 * greetingMs);
  const amp = 32768 * Math.pow(10, -10 / 20); // -10 dBFS
  for (let start = 0; start < n; start += 160) {
    const buf = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) {
      const t = (start + i) / 8000;
      buf[i] = linearToMulaw(Math.round(amp * Math.sin(2 * Math.PI * greetingHz * t)));
    }
    frames.push(buf.toString('base64'));
  }
  return frames;
}
const frames = greeting();

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  verifyClient: (info) => !token || info.req.headers.authorization === 'Bearer ' + token,
});
wss.on('listening', () => console.log(`listening ws://127.0.0.1:${wss.address().port}/`));
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return; }
    if (m.event === 'media') return;
    console.log('event ' + data.toString());
    if (m.event === 'start') {
      const streamSid = m.start.streamSid;
      for (const payload of frames) {
        ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload } }));
      }
      ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'greeting' } }));
    }
  });
  ws.on('close', () => console.log('closed'));
});
