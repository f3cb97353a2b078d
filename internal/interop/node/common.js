'use strict';

// Helpers shared by server.js and client.js. Both talk to the Go test over
// stdout in JSON lines, one object a line; see interop_test.go.

const crypto = require('crypto');

// parseFlags reads --name=value flags; anything else is an error.
function parseFlags(argv, known) {
  const flags = { ...known };
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m || !(m[1] in known)) {
      throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
    flags[m[1]] = m[2];
  }
  return flags;
}

// perMessageDeflate parses the --per-message-deflate flag into ws's
// perMessageDeflate option: "off" (false), "on" (true: ws's defaults), or
// a JSON object of ws's options, such as {"serverMaxWindowBits":10} or
// {"threshold":0}.
function perMessageDeflate(value) {
  if (value === 'on') return true;
  if (value === 'off') return false;
  let opts;
  try {
    opts = JSON.parse(value);
  } catch (err) {
    opts = null;
  }
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new Error(`--per-message-deflate must be on, off or a JSON object, not ${JSON.stringify(value)}`);
  }
  return opts;
}

// emit writes one JSON line to stdout. Writes to a pipe are synchronous on
// Linux, so lines from concurrent connections never interleave.
function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Transcript hashes a sequence of messages so that two peers can check they
// agree on every byte, type and boundary without shipping the payloads:
// SHA-256 over "t" or "b", the decimal length, ":", then the payload, for
// each message in order. The transcript type in interop_test.go computes
// the same.
class Transcript {
  constructor() {
    this.hash = crypto.createHash('sha256');
    this.count = 0;
  }

  add(data, isBinary) {
    this.hash.update(isBinary ? 'b' : 't');
    this.hash.update(`${data.length}:`);
    this.hash.update(data);
    this.count++;
  }

  // summary returns {count, digest}; it may be called once.
  summary() {
    return { count: this.count, digest: this.hash.digest('hex') };
  }
}

// exitOnStdinEnd exits when the Go test closes our stdin or dies, so that
// no peer outlives its test.
function exitOnStdinEnd(cleanup) {
  process.stdin.on('end', () => process.exit(cleanup()));
  process.stdin.on('error', () => process.exit(cleanup()));
}

module.exports = { parseFlags, perMessageDeflate, emit, Transcript, exitOnStdinEnd };
