'use strict';

// An echo server on the ws package, for Go clients to test against.
//
//   node server.js [--per-message-deflate=off|on|JSON]
//
// It listens on 127.0.0.1 on a free port and prints the port alone as its
// first line of stdout. The flag sets ws's perMessageDeflate option: off,
// on with ws's defaults, or a JSON object of ws's options (see
// perMessageDeflate in common.js). Every message is echoed with its type.
// A text message "close:CODE:REASON" is not echoed: the server closes the
// connection with that code and reason instead.
//
// When a connection ends, the server prints one JSON line:
//
//   {"event":"close","id":ID,"code":N,"reason":"...","count":N,"digest":"...",
//    "offer":"...","extensions":"..."}
//
// where ID is the connection's ?id= query parameter, code and reason are
// what the 'close' event reported (the client's close frame), count and
// digest summarize every message received (see Transcript in common.js),
// offer is the request's Sec-WebSocket-Extensions header ("" without one)
// and extensions is ws's extensions property once connected: the names of
// the extensions in use, "" for none.
// Connection errors are printed as {"event":"error","id":ID,"message":"..."}.
// The server exits when its stdin ends.

const { WebSocketServer } = require('ws');
const { parseFlags, perMessageDeflate, emit, Transcript, exitOnStdinEnd } = require('./common');

const flags = parseFlags(process.argv.slice(2), { 'per-message-deflate': 'off' });

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  // Room for the tests' 16 MiB messages with margin to spare.
  maxPayload: 64 << 20,
  perMessageDeflate: perMessageDeflate(flags['per-message-deflate']),
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});

wss.on('error', (err) => {
  console.error(`server: ${err.stack}`);
  process.exit(2);
});

wss.on('connection', (ws, req) => {
  const id = new URL(req.url, 'http://localhost').searchParams.get('id') || '';
  const received = new Transcript();
  const negotiated = { offer: req.headers['sec-websocket-extensions'] ?? '', extensions: ws.extensions };

  ws.on('message', (data, isBinary) => {
    received.add(data, isBinary);
    if (!isBinary) {
      const m = /^close:(\d+):(.*)$/s.exec(data.toString('utf8'));
      if (m) {
        try {
          ws.close(Number(m[1]), m[2]);
        } catch (err) {
          // An invalid code or an overlong reason: report it, don't crash.
          emit({ event: 'error', id, message: err.message });
          ws.terminate();
        }
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });

  ws.on('error', (err) => {
    emit({ event: 'error', id, message: err.message });
  });

  ws.on('close', (code, reason) => {
    emit({ event: 'close', id, code, reason: reason.toString('utf8'), ...received.summary(), ...negotiated });
  });
});

exitOnStdinEnd(() => {
  for (const ws of wss.clients) ws.terminate();
  return 0;
});
process.stdin.resume();
