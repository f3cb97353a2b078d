'use strict';

// An echo server on the ws package, for Go clients to test against.
//
//   node server.js [--per-message-deflate=off|on]
//
// It listens on 127.0.0.1 on a free port and prints the port alone as its
// first line of stdout. Every message is echoed with its type. A text
// message "close:CODE:REASON" is not echoed: the server closes the
// connection with that code and reason instead.
//
// When a connection ends, the server prints one JSON line:
//
//   {"event":"close","id":ID,"code":N,"reason":"...","count":N,"digest":"..."}
//
// where ID is the connection's ?id= query parameter, code and reason are
// what the 'close' event reported (the client's close frame), and count and
// digest summarize every message received (see Transcript in common.js).
// Connection errors are printed as {"event":"error","id":ID,"message":"..."}.
// The server exits when its stdin ends.

const { WebSocketServer } = require('ws');
const { parseFlags, onOff, emit, Transcript, exitOnStdinEnd } = require('./common');

const flags = parseFlags(process.argv.slice(2), { 'per-message-deflate': 'off' });

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  // Room for the tests' 16 MiB messages with margin to spare.
  maxPayload: 64 << 20,
  perMessageDeflate: onOff('per-message-deflate', flags['per-message-deflate']),
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
    emit({ event: 'close', id, code, reason: reason.toString('utf8'), ...received.summary() });
  });
});

exitOnStdinEnd(() => {
  for (const ws of wss.clients) ws.terminate();
  return 0;
});
process.stdin.resume();
