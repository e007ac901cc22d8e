// Shared helpers of the conformance scripts: tracker address parsing,
// assertions, CRC32, decoding of FastDFS file names and a log sink that keeps
// the clients' chatter out of the output unless a check fails.
'use strict';

const { Writable, Readable } = require('node:stream');
const crypto = require('node:crypto');

// trackerFromArgs reads "host:port" from argv[2] or $FDFS_TRACKER.
function trackerFromArgs() {
  const addr = process.argv[2] || process.env.FDFS_TRACKER;
  if (!addr) {
    throw new Error('usage: node script.js <tracker host:port> (or set FDFS_TRACKER)');
  }
  const i = addr.lastIndexOf(':');
  if (i <= 0) {
    throw new Error('bad tracker address ' + JSON.stringify(addr));
  }
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

// Logger buffers the clients' log lines (they log every packet at debug and
// info level) and prints the last ones only when the script fails.
class Logger {
  constructor(max) {
    this.max = max || 200;
    this.lines = [];
    const self = this;
    for (const m of 'log trace debug info warn error fatal'.split(' ')) {
      this[m] = function () {
        self.lines.push(m + ': ' + Array.from(arguments).map(String).join(' '));
        if (self.lines.length > self.max) {
          self.lines.shift();
        }
      };
    }
  }
  dump() {
    for (const l of this.lines) {
      process.stderr.write('  client log ' + l + '\n');
    }
  }
}

function fail(msg) {
  throw new Error(msg);
}

function assertEq(got, want, what) {
  if (got !== want) {
    fail(what + ': got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));
  }
}

function assertBytes(got, want, what) {
  if (!Buffer.isBuffer(got)) {
    fail(what + ': got a ' + typeof got + ', want a Buffer of ' + want.length + ' bytes');
  }
  if (got.length !== want.length) {
    fail(what + ': got ' + got.length + ' bytes, want ' + want.length);
  }
  const i = firstDiff(got, want);
  if (i >= 0) {
    fail(what + ': bytes differ at offset ' + i + ' (got 0x' + got[i].toString(16) +
      ', want 0x' + want[i].toString(16) + ')');
  }
}

function firstDiff(a, b) {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      return i;
    }
  }
  return -1;
}

function assertMeta(got, want, what) {
  const g = JSON.stringify(sortKeys(got));
  const w = JSON.stringify(sortKeys(want));
  if (g !== w) {
    fail(what + ': got ' + g + ', want ' + w);
  }
}

function sortKeys(o) {
  if (o === null || typeof o !== 'object') {
    return o;
  }
  const out = {};
  for (const k of Object.keys(o).sort()) {
    out[k] = o[k];
  }
  return out;
}

// expectError runs fn, which must reject; check receives the error.
async function expectError(fn, what, check) {
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  if (err === null) {
    fail(what + ': succeeded, want an error');
  }
  if (check) {
    check(err);
  }
  return err;
}

// errno extracts the FastDFS status from the clients' error messages
// ("receive packet errno is: 2"); fdfs@1.0.4 also sets err.code.
function errno(err) {
  if (err && typeof err.code === 'number') {
    return err.code;
  }
  const m = /errno is: (\d+)/.exec(String(err && err.message ? err.message : err));
  return m ? Number(m[1]) : -1;
}

function expectErrno(want) {
  return function (err) {
    const got = errno(err);
    if (got !== want) {
      fail('error ' + JSON.stringify(String(err && err.message ? err.message : err)) +
        ': status ' + got + ', want ' + want);
    }
  };
}

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    t[n] = c >>> 0;
  }
  return t;
})();

// crc32 is the IEEE CRC-32 FastDFS puts in file names (unsigned).
function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) {
    c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

// Signed view of a CRC, as fdfs@1.0.4 decodes the sign-extended int64 field.
function signed32(v) {
  return v | 0;
}

const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function decodeB64(s) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s) {
    const v = b64.indexOf(ch);
    if (v < 0) {
      fail('bad base64 char ' + JSON.stringify(ch) + ' in ' + s);
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

const nameRE = /^M([0-9A-F]{2})\/([0-9A-F]{2})\/([0-9A-F]{2})\/([A-Za-z0-9_-]{27})([0-9]{7}|[0-9]*\.[A-Za-z0-9_.-]{1,6})$/;

// parseFileID checks a "group/Mxx/HH/LL/name" ID against protocol.md §3 and
// returns the fields encoded in its 20 binary bytes.
function parseFileID(id) {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash > 16) {
    fail('file id ' + JSON.stringify(id) + ': bad group part');
  }
  const group = id.slice(0, slash);
  const name = id.slice(slash + 1);
  const m = nameRE.exec(name);
  if (!m) {
    fail('file id ' + JSON.stringify(id) + ': name does not match Mxx/HH/LL/<27 base64><7-char ext>');
  }
  if (name.length !== 44) {
    fail('file id ' + JSON.stringify(id) + ': name has ' + name.length + ' chars, want 44');
  }
  const raw = decodeB64(m[4]);
  if (raw.length !== 20) {
    fail('file id ' + JSON.stringify(id) + ': base64 part decodes to ' + raw.length + ' bytes');
  }
  const sizeHigh = raw.readUInt32BE(8);
  return {
    group,
    name,
    ext: m[5].includes('.') ? m[5].slice(m[5].indexOf('.') + 1) : '',
    sourceIP: raw[0] + '.' + raw[1] + '.' + raw[2] + '.' + raw[3],
    timestamp: raw.readUInt32BE(4),
    sizeHigh,
    sizeLow: raw.readUInt32BE(12),
    appender: (sizeHigh & 0x04000000) !== 0,
    crc32: raw.readUInt32BE(16),
  };
}

// checkNormalName verifies the fields of a freshly uploaded normal file.
function checkNormalName(id, content, ext) {
  const f = parseFileID(id);
  assertEq(f.ext, ext, id + ' ext');
  assertEq((f.sizeHigh & 0x80000000) !== 0, true, id + ' size bit 63');
  assertEq(f.appender, false, id + ' appender bit');
  assertEq(f.sizeLow, content.length, id + ' size in name');
  assertEq(f.crc32, crc32(content), id + ' crc32 in name');
  return f;
}

// checkAppenderName verifies an appender file name (bit 58, low size 0,
// CRC of the initial content).
function checkAppenderName(id, content, ext) {
  const f = parseFileID(id);
  assertEq(f.ext, ext, id + ' ext');
  assertEq(f.appender, true, id + ' appender bit');
  assertEq(f.sizeLow, 0, id + ' low size bits');
  assertEq(f.crc32, crc32(content), id + ' crc32 in name');
  return f;
}

// Sink is a Writable collecting everything written to it.
class Sink extends Writable {
  constructor() {
    super();
    this.chunks = [];
  }
  _write(chunk, enc, cb) {
    this.chunks.push(Buffer.from(chunk));
    cb();
  }
  bytes() {
    return Buffer.concat(this.chunks);
  }
}

function randomBytes(n) {
  return crypto.randomBytes(n);
}

// streamOf returns a Readable yielding buf in chunks of at most chunk bytes.
function streamOf(buf, chunk) {
  let off = 0;
  return new Readable({
    read() {
      if (off >= buf.length) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, buf.length - off);
      this.push(buf.subarray(off, off + n));
      off += n;
    },
  });
}

// withDeadline rejects if p does not settle in ms milliseconds, so a server
// that never answers fails the step instead of hanging the script.
function withDeadline(p, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(what + ': no answer within ' + ms + ' ms')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

// run executes the named steps in order and exits non-zero on the first
// failure, printing the step, the error and the client's recent log.
async function run(title, logger, steps) {
  const stepMs = Number(process.env.FDFS_STEP_TIMEOUT_MS || 30000);
  for (const [name, fn] of steps) {
    try {
      await withDeadline(Promise.resolve().then(fn), stepMs, name);
      process.stdout.write('ok   ' + title + ': ' + name + '\n');
    } catch (err) {
      process.stdout.write('FAIL ' + title + ': ' + name + ': ' +
        (err && err.stack ? err.stack : String(err)) + '\n');
      logger.dump();
      process.exit(1);
    }
  }
  process.stdout.write('PASS ' + title + ' (' + steps.length + ' steps)\n');
  process.exit(0);
}

process.on('unhandledRejection', (err) => {
  process.stdout.write('FAIL unhandled rejection: ' + (err && err.stack ? err.stack : String(err)) + '\n');
  process.exit(1);
});
process.on('uncaughtException', (err) => {
  process.stdout.write('FAIL uncaught exception: ' + (err && err.stack ? err.stack : String(err)) + '\n');
  process.exit(1);
});

module.exports = {
  trackerFromArgs,
  Logger,
  fail,
  assertEq,
  assertBytes,
  assertMeta,
  expectError,
  expectErrno,
  errno,
  crc32,
  signed32,
  parseFileID,
  checkNormalName,
  checkAppenderName,
  Sink,
  randomBytes,
  streamOf,
  run,
};
