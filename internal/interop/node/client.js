'use strict';

// A ws client that the Go test drives over stdin and stdout.
//
//   node client.js [--per-message-deflate=off|on|JSON]
//
// The flag sets ws's perMessageDeflate option for every connection: off,
// on with ws's defaults, or a JSON object of ws's options (see
// perMessageDeflate in common.js).
//
// It prints {"event":"ready"} once it has loaded, then reads commands from
// stdin, one JSON object a line. Each command runs at once, concurrently
// with the others, on a connection of its own to cmd.url, and ends with one
// result line on stdout:
//
//   {"id":ID,"ok":true,...}  or  {"id":ID,"ok":false,"error":"..."}
//
// Commands (every one takes "id", "url" and an optional "timeoutMs"):
//
//   {"op":"echo", MESSAGES, "count":N, "fragment":N}
//       Sends count messages (default 1) back to back, each split into
//       frames of fragment bytes if fragment is set. Then reads count
//       messages, checks that each equals what was sent, type included, in
//       order, and closes with 1000. Adds "sent": {count, digest} (see
//       Transcript in common.js).
//   {"op":"ping","payload":"..."}
//       Sends a ping and waits for the pong with the same payload, then
//       closes with 1000.
//   {"op":"close","code":N,"reason":"..."}
//       Closes with that code and reason at once.
//   {"op":"await-close", MESSAGES, "count":N}
//       Sends count messages (default 0), then waits for the server to
//       close. Adds "pings": the pings received (ws answers them itself),
//       and "messages": the messages received.
//
// MESSAGES says what message k holds, and has one of these forms:
//
//   "type":"text"|"binary","data":"BASE64"   those bytes
//   "type":"text"|"binary","text":"..."      that text in UTF-8
//   "type":"text"|"binary"|"mixed","size":N  N bytes of a pattern that
//       differs per message: printable ASCII for text, any byte for
//       binary; "mixed" alternates text and binary, starting with text
//   "type":...,"size":N,"fill":"..."         N bytes of that ASCII text
//       repeated, which deflate squeezes to almost nothing
//
// Every result that got past the handshake has "close": {code, reason},
// as the 'close' event reported them, "extensions": ws's extensions
// property (the names of the extensions in use, "" for none) and
// "response": the handshake response's Sec-WebSocket-Extensions header
// ("" without one). A command that fails, or takes longer than timeoutMs
// (default 20000), has ok false. When stdin ends the client drops every
// connection and exits: 1 if any command failed, else 0.

const readline = require('readline');
const WebSocket = require('ws');
const { parseFlags, perMessageDeflate: deflateOption, emit, Transcript, exitOnStdinEnd } = require('./common');

const flags = parseFlags(process.argv.slice(2), { 'per-message-deflate': 'off' });
const perMessageDeflate = deflateOption(flags['per-message-deflate']);

const sockets = new Set();
let failures = 0;

const ops = {
  async echo(ws, cmd, closed) {
    const count = cmd.count ?? 1;
    const want = messages(cmd, count);
    const got = collect(ws, count, closed);
    const sent = new Transcript();
    for (const m of want) {
      send(ws, m, cmd.fragment);
      sent.add(m.data, m.binary);
    }
    const msgs = await got;
    for (let k = 0; k < count; k++) {
      const diff = compare(want[k], msgs[k]);
      if (diff) throw new Error(`message ${k} of ${count}: ${diff}`);
    }
    ws.close(1000);
    return { sent: sent.summary(), close: await closed };
  },

  async ping(ws, cmd, closed) {
    const payload = Buffer.from(cmd.payload ?? '', 'utf8');
    const pong = new Promise((resolve) => {
      ws.on('pong', (data) => {
        if (data.equals(payload)) resolve();
      });
    });
    ws.ping(payload);
    await Promise.race([pong, closed.then((c) => {
      throw new Error(`closed before the pong: ${c.code} ${c.reason}`);
    })]);
    ws.close(1000);
    return { close: await closed };
  },

  async close(ws, cmd, closed) {
    ws.close(cmd.code, cmd.reason);
    return { close: await closed };
  },

  async 'await-close'(ws, cmd, closed, seen) {
    for (const m of messages(cmd, cmd.count ?? 0)) send(ws, m);
    const close = await closed;
    return { pings: seen.pings, messages: seen.messages, close };
  },
};

// messages builds the count messages that cmd describes (see MESSAGES).
function messages(cmd, count) {
  const want = [];
  for (let k = 0; k < count; k++) {
    const binary = cmd.type === 'binary' || (cmd.type === 'mixed' && k % 2 === 1);
    let data;
    if (typeof cmd.data === 'string') {
      data = Buffer.from(cmd.data, 'base64');
    } else if (typeof cmd.text === 'string') {
      data = Buffer.from(cmd.text, 'utf8');
    } else if (typeof cmd.fill === 'string') {
      data = Buffer.alloc(cmd.size ?? 0, cmd.fill, 'latin1');
    } else {
      data = pattern(cmd.size ?? 0, k, binary);
    }
    want.push({ data, binary });
  }
  return want;
}

// send sends message m, in frames of fragment bytes if fragment is set
// (the last frame may be shorter; a message of 0 bytes is one frame).
function send(ws, m, fragment) {
  if (!fragment || m.data.length <= fragment) {
    ws.send(m.data, { binary: m.binary });
    return;
  }
  for (let i = 0; i < m.data.length; i += fragment) {
    const end = Math.min(i + fragment, m.data.length);
    ws.send(m.data.subarray(i, end), { binary: m.binary, fin: end === m.data.length });
  }
}

// pattern returns size bytes that differ from message to message: bytes
// from a xorshift generator seeded with k, mapped to printable ASCII for
// text.
function pattern(size, k, binary) {
  const buf = Buffer.allocUnsafe(size);
  let x = (Math.imul(k + 1, 0x9e3779b9) | 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = binary ? x & 0xff : 0x20 + (x % 95);
  }
  return buf;
}

// compare describes how a received message differs from the one sent, or
// returns '' if it does not.
function compare(want, got) {
  const kind = (binary) => (binary ? 'binary' : 'text');
  if (want.binary !== got.isBinary) {
    return `got a ${kind(got.isBinary)} message, want ${kind(want.binary)}`;
  }
  if (want.data.equals(got.data)) return '';
  let i = 0;
  while (i < want.data.length && i < got.data.length && want.data[i] === got.data[i]) i++;
  return `got ${got.data.length} bytes, want ${want.data.length}; first difference at byte ${i}`;
}

// collect resolves with the next n messages, or rejects if the connection
// closes first.
function collect(ws, n, closed) {
  return new Promise((resolve, reject) => {
    const msgs = [];
    const onMessage = (data, isBinary) => {
      msgs.push({ data, isBinary });
      if (msgs.length === n) {
        ws.off('message', onMessage);
        resolve(msgs);
      }
    };
    ws.on('message', onMessage);
    closed.then((c) => reject(new Error(`closed after ${msgs.length} of ${n} messages: ${c.code} ${c.reason}`)));
  });
}

// run carries out one command and reports its result.
async function run(cmd) {
  const op = ops[cmd.op];
  if (!op) throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  const ws = new WebSocket(cmd.url, { perMessageDeflate, maxPayload: 64 << 20, handshakeTimeout: 10000 });
  sockets.add(ws);
  let lastError = null;
  ws.on('error', (err) => {
    lastError = err;
  });
  // Count from the start: ws handles frames that came with the handshake
  // response before an 'open' listener's continuation runs.
  const seen = { pings: 0, messages: 0 };
  let response = '';
  ws.once('upgrade', (res) => {
    response = res.headers['sec-websocket-extensions'] ?? '';
  });
  ws.on('ping', () => seen.pings++);
  ws.on('message', () => seen.messages++);
  const closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      sockets.delete(ws);
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    closed.then((c) => reject(lastError || new Error(`closed before open: ${c.code} ${c.reason}`)));
  });
  const timeoutMs = cmd.timeoutMs ?? 20000;
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`timed out after ${timeoutMs} ms${lastError ? ` (last error: ${lastError.message})` : ''}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([timeout, (async () => {
      await opened;
      const negotiated = { extensions: ws.extensions, response };
      return { ...negotiated, ...(await op(ws, cmd, closed, seen)) };
    })()]);
  } finally {
    clearTimeout(timer);
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    failures++;
    emit({ event: 'error', message: `bad command ${JSON.stringify(line)}: ${err.message}` });
    return;
  }
  run(cmd).then(
    (result) => emit({ id: cmd.id, ok: true, ...result }),
    (err) => {
      failures++;
      emit({ id: cmd.id, ok: false, error: err.message });
    },
  );
});

exitOnStdinEnd(() => {
  for (const ws of sockets) ws.terminate();
  return failures > 0 ? 1 : 0;
});

emit({ event: 'ready' });
