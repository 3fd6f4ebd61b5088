#!/usr/bin/env node
// Test SMSC (SMPP v3.4 server) built on the npm package `smpp` (0.5.1).
//
// Usage:
//   node smsc.js --smpp-port P --http-port H --system-id ID --password PW
//                [--host 127.0.0.1] [--watch-stdin]
//
// Ports may be 0 (pick a free one). When both listeners are up, exactly one
// JSON line is printed to stdout: {"smpp":<port>,"http":<port>}. Everything
// else goes to stderr. SIGTERM/SIGINT close everything and exit 0.
// With --watch-stdin the process also exits when its stdin reaches EOF (so
// that it dies with the Go test process that started it).
//
// Exit codes: 0 normal shutdown, 2 bad arguments, 3 a port is in use,
// 1 anything else.
'use strict';

const http = require('http');
const smpp = require('smpp');

// ---------------------------------------------------------------------------
// Raw PDU capture.
//
// smpp 0.5.1 decodes incoming PDUs in PDU.prototype.fromBuffer and does not
// keep the wire bytes: unknown TLVs survive only as pdu[<decimal tag>] (a
// Buffer; a repeated tag overwrites the previous one), known TLVs are decoded
// lossily (C-strings cut at the first NUL, message_payload turned into
// {message}), and short_message is replaced by {udh, message}. To record
// exactly what the client sent, we keep the raw buffer on the PDU (as a
// non-enumerable property, so the library's own encoders never see it) and
// parse submit_sm from it ourselves.
// ---------------------------------------------------------------------------
const originalFromBuffer = smpp.PDU.prototype.fromBuffer;
smpp.PDU.prototype.fromBuffer = function (buffer) {
  Object.defineProperty(this, 'rawBuffer', { value: buffer, enumerable: false, writable: true });
  return originalFromBuffer.call(this, buffer);
};

const ESME_ROK = 0x00;
const ESME_RINVCMDLEN = 0x02;
const ESME_RINVCMDID = 0x03;
const ESME_RINVBNDSTS = 0x04;
const ESME_RALYBND = 0x05;
const ESME_RBINDFAIL = 0x0d;
const ESME_RTHROTTLED = 0x58;
const ESME_RINVTLVSTREAM = 0xc0;

const RESP_TIMEOUT_MS = 5000; // deliver_sm_resp wait (receipts and MO)
const RECEIPT_MAX_RETRIES = 3; // retries after the first attempt
const RECEIPT_RETRY_DELAY_MS = 100;

const MESSAGE_STATE = { DELIVRD: 2, EXPIRED: 3, UNDELIV: 5, REJECTD: 8 };
const RECEIPT_VALUES = ['DELIVRD', 'UNDELIV', 'EXPIRED', 'REJECTD', 'none'];

function log(...args) {
  console.error('[smsc]', ...args);
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------
function parseArgs(argv) {
  const o = { smppPort: 0, httpPort: 0, systemId: 'smsctest', password: 'secret', host: '127.0.0.1', watchStdin: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      return argv[++i];
    };
    switch (a) {
      case '--smpp-port': o.smppPort = portArg(a, next()); break;
      case '--http-port': o.httpPort = portArg(a, next()); break;
      case '--system-id': o.systemId = next(); break;
      case '--password': o.password = next(); break;
      case '--host': o.host = next(); break;
      case '--watch-stdin': o.watchStdin = true; break;
      default: usage(`unknown argument ${a}`);
    }
  }
  return o;
}

function portArg(name, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) usage(`bad port for ${name}: ${v}`);
  return n;
}

function usage(msg) {
  log(msg);
  log('usage: node smsc.js --smpp-port P --http-port H --system-id ID --password PW [--host 127.0.0.1] [--watch-stdin]');
  process.exit(2);
}

const cfg = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------
// GSM 03.38 default alphabet (unpacked, one character per octet, as SMPP
// carries it) with the escape (0x1B) extension table.
// ---------------------------------------------------------------------------
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT = { 0x0a: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2f: '\\', 0x3c: '[', 0x3d: '~', 0x3e: ']', 0x40: '|', 0x65: '€' };
if ([...GSM_BASIC].length !== 128) throw new Error('GSM table must have 128 entries');
const GSM_ENC = new Map();
[...GSM_BASIC].forEach((ch, i) => { if (i !== 0x1b) GSM_ENC.set(ch, [i]); });
for (const [code, ch] of Object.entries(GSM_EXT)) GSM_ENC.set(ch, [0x1b, Number(code)]);

function gsmDecode(buf) {
  const basic = [...GSM_BASIC];
  let out = '';
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b > 0x7f) { out += '\ufffd'; continue; }
    if (b === 0x1b) {
      if (i + 1 >= buf.length) { out += ' '; continue; }
      const n = buf[++i];
      if (GSM_EXT[n] !== undefined) out += GSM_EXT[n];
      else if (n <= 0x7f && n !== 0x1b) out += basic[n]; // 23.038: unknown escape shows the basic char
      else out += ' ';
      continue;
    }
    out += basic[b];
  }
  return out;
}

function gsmFits(text) {
  for (const ch of text) if (!GSM_ENC.has(ch)) return false;
  return true;
}

// Encodes text in the GSM default alphabet; characters outside it become '?'.
function gsmEncode(text) {
  const out = [];
  for (const ch of text) out.push(...(GSM_ENC.get(ch) || [0x3f]));
  return Buffer.from(out);
}

function ucs2Encode(text) {
  const b = Buffer.from(text, 'utf16le');
  return b.swap16();
}

function ucs2Decode(buf) {
  const even = Buffer.from(buf.subarray(0, buf.length - (buf.length % 2)));
  return even.swap16().toString('utf16le');
}

function decodeText(buf, dataCoding) {
  if (dataCoding === 8) return ucs2Decode(buf);
  if (dataCoding === 0) return gsmDecode(buf);
  return buf.toString('latin1');
}

// ---------------------------------------------------------------------------
// submit_sm parsing from the raw PDU
// ---------------------------------------------------------------------------
class ParseError extends Error {
  constructor(msg, status) { super(msg); this.status = status; }
}

function parseSubmit(buf) {
  const end = Math.min(buf.length, buf.readUInt32BE(0));
  let off = 16;
  const u8 = (name) => {
    if (off >= end) throw new ParseError(`submit_sm truncated at ${name}`, ESME_RINVCMDLEN);
    return buf[off++];
  };
  const cstr = (name) => {
    let i = off;
    while (i < end && buf[i] !== 0) i++;
    if (i >= end) throw new ParseError(`submit_sm: unterminated ${name}`, ESME_RINVCMDLEN);
    const s = buf.toString('latin1', off, i);
    off = i + 1;
    return s;
  };
  const r = {};
  r.service_type = cstr('service_type');
  r.source_addr_ton = u8('source_addr_ton');
  r.source_addr_npi = u8('source_addr_npi');
  r.source_addr = cstr('source_addr');
  r.dest_addr_ton = u8('dest_addr_ton');
  r.dest_addr_npi = u8('dest_addr_npi');
  r.destination_addr = cstr('destination_addr');
  r.esm_class = u8('esm_class');
  r.protocol_id = u8('protocol_id');
  r.priority_flag = u8('priority_flag');
  r.schedule_delivery_time = cstr('schedule_delivery_time');
  r.validity_period = cstr('validity_period');
  r.registered_delivery = u8('registered_delivery');
  r.replace_if_present_flag = u8('replace_if_present_flag');
  r.data_coding = u8('data_coding');
  r.sm_default_msg_id = u8('sm_default_msg_id');
  const smLength = u8('sm_length');
  if (off + smLength > end) throw new ParseError('submit_sm: short_message longer than PDU', ESME_RINVCMDLEN);
  const shortMessage = buf.subarray(off, off + smLength);
  off += smLength;
  const tlvs = {};
  const tlvBuffers = {};
  while (off < end) {
    if (off + 4 > end) throw new ParseError('submit_sm: truncated TLV header', ESME_RINVTLVSTREAM);
    const tag = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (off + 4 + len > end) throw new ParseError(`submit_sm: TLV 0x${tag.toString(16)} longer than PDU`, ESME_RINVTLVSTREAM);
    const value = buf.subarray(off + 4, off + 4 + len);
    const key = tag.toString(16).padStart(4, '0');
    tlvs[key] = value.toString('hex'); // a repeated tag keeps its last value
    tlvBuffers[key] = value;
    off += 4 + len;
  }
  // The body of the message: short_message, or message_payload (0x0424)
  // when short_message is empty.
  let body = shortMessage;
  if (body.length === 0 && tlvBuffers['0424']) body = tlvBuffers['0424'];
  let udh;
  if ((r.esm_class & 0x40) && body.length > 0 && 1 + body[0] <= body.length) {
    const udhl = body[0];
    udh = parseUDH(body.subarray(1, 1 + udhl));
    body = body.subarray(1 + udhl);
  }
  r.short_message_hex = shortMessage.toString('hex');
  if (udh) r.udh = udh;
  r.text = decodeText(body, r.data_coding);
  r.tlvs = tlvs;
  return r;
}

// Returns {ref,total,seq} for a concatenation IE (0x00 8-bit ref, 0x08
// 16-bit ref), or undefined.
function parseUDH(h) {
  let i = 0;
  while (i + 2 <= h.length) {
    const iei = h[i];
    const len = h[i + 1];
    const d = h.subarray(i + 2, i + 2 + len);
    if (d.length < len) break;
    if (iei === 0x00 && len === 3) return { ref: d[0], total: d[1], seq: d[2] };
    if (iei === 0x08 && len === 4) return { ref: d.readUInt16BE(0), total: d[2], seq: d[3] };
    i += 2 + len;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------
function defaultFaults() {
  return { queue: [], delayMs: 0, receipt: 'DELIVRD', receiptErr: null, receiptDelayMs: 50 };
}

const state = {
  submits: [],
  binds: { total: 0, current: 0, failed: 0 },
  receipts: { sent: 0, acked: 0 },
  mo: { sent: 0, acked: 0 },
  faults: defaultFaults(),
};

let generation = 0; // bumped by /reset: work scheduled before it stops counting
const receiptTimers = new Set();
let pendingReceipts = []; // receipts waiting for a receiver to bind

// Message ids: hex of an incrementing counter. The counter starts from the
// process start time (ms * 1000) so ids also differ across restarts.
let messageCounter = Date.now() * 1000;
function nextMessageId() {
  messageCounter += 1;
  return messageCounter.toString(16);
}

let sessionCounter = 0;
const sessions = new Map(); // id -> ctx

function boundSessions() {
  const out = [];
  for (const c of sessions.values()) if (c.bound) out.push({ id: c.id, bind: c.bound, system_id: c.systemId });
  return out;
}

function canReceive(ctx) {
  return !ctx.closed && (ctx.bound === 'receiver' || ctx.bound === 'transceiver');
}

// The submitting session if it is a transceiver, else any receiver or
// transceiver of that system_id (oldest bind first).
function pickReceiver(systemId, preferredId) {
  const pref = preferredId != null ? sessions.get(preferredId) : null;
  if (pref && pref.bound === 'transceiver' && !pref.closed && pref.systemId === systemId) return pref;
  for (const c of sessions.values()) if (canReceive(c) && c.systemId === systemId) return c;
  return null;
}

// Sends a request PDU and calls cb(err, respPdu) once: err is 'closed'
// (session went away) or 'timeout'.
function request(ctx, command, options, cb) {
  let done = false;
  const finish = (err, pdu) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    ctx.inflight.delete(finish);
    cb(err, pdu);
  };
  const timer = setTimeout(() => finish('timeout'), RESP_TIMEOUT_MS);
  ctx.inflight.add(finish);
  let ok = false;
  try {
    ok = ctx.session[command](options, (pdu) => finish(null, pdu));
  } catch (e) {
    log(`sending ${command} failed:`, e.message);
  }
  if (!ok) finish('closed');
}

// ---------------------------------------------------------------------------
// Delivery receipts
// ---------------------------------------------------------------------------
function smppDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
}

function scheduleReceipt(r) {
  const gen = generation;
  const t = setTimeout(() => {
    receiptTimers.delete(t);
    if (gen === generation) deliverReceipt(r);
  }, r.delayMs);
  receiptTimers.add(t);
}

function buildReceiptOptions(r) {
  const done = new Date();
  const ok = r.stat === 'DELIVRD';
  const text = [...r.text].slice(0, 20).join('');
  const msg = `id:${r.id} sub:001 dlvrd:${ok ? '001' : '000'} submit date:${smppDate(r.submitAt)} ` +
    `done date:${smppDate(done)} stat:${r.stat} err:${r.err} text:${text}`;
  return {
    source_addr_ton: r.submit.dest_addr_ton,
    source_addr_npi: r.submit.dest_addr_npi,
    source_addr: r.submit.destination_addr,
    dest_addr_ton: r.submit.source_addr_ton,
    dest_addr_npi: r.submit.source_addr_npi,
    destination_addr: r.submit.source_addr,
    esm_class: 0x04,
    data_coding: 0,
    short_message: gsmEncode(msg),
    receipted_message_id: r.id,
    message_state: MESSAGE_STATE[r.stat],
  };
}

function deliverReceipt(r) {
  if (r.gen !== generation) return;
  const ctx = pickReceiver(r.systemId, r.sessionId);
  if (!ctx) {
    pendingReceipts.push(r);
    return;
  }
  r.attempts += 1;
  state.receipts.sent += 1;
  request(ctx, 'deliver_sm', buildReceiptOptions(r), (err, resp) => {
    if (r.gen !== generation) return;
    if (!err && resp.command_status === ESME_ROK) {
      state.receipts.acked += 1;
      return;
    }
    if (err === 'closed') {
      // Never answered because the session went away: not a failed
      // attempt; deliver on another bind (or queue until one binds).
      r.attempts -= 1;
      deliverReceipt(r);
      return;
    }
    const why = err || `command_status 0x${resp.command_status.toString(16)}`;
    if (r.attempts <= RECEIPT_MAX_RETRIES) {
      log(`receipt ${r.id}: ${why}, retrying`);
      const gen = generation;
      const t = setTimeout(() => {
        receiptTimers.delete(t);
        if (gen === generation) deliverReceipt(r);
      }, RECEIPT_RETRY_DELAY_MS);
      receiptTimers.add(t);
    } else {
      log(`receipt ${r.id}: ${why}, giving up after ${r.attempts} attempts`);
    }
  });
}

function flushPendingReceipts(systemId) {
  const mine = pendingReceipts.filter((r) => r.systemId === systemId);
  pendingReceipts = pendingReceipts.filter((r) => r.systemId !== systemId);
  for (const r of mine) deliverReceipt(r);
}

// ---------------------------------------------------------------------------
// SMPP session handling
// ---------------------------------------------------------------------------
const BIND_TYPES = { bind_transceiver: 'transceiver', bind_transmitter: 'transmitter', bind_receiver: 'receiver' };

function send(ctx, pdu, after) {
  try {
    if (!ctx.session.send(pdu, after)) log(`session ${ctx.id}: ${pdu.command} not sent, socket closed`);
  } catch (e) {
    log(`session ${ctx.id}: sending ${pdu.command} failed:`, e.message);
  }
}

function onBind(ctx, pdu) {
  if (ctx.bound) {
    send(ctx, pdu.response({ command_status: ESME_RALYBND }));
    return;
  }
  if (pdu.system_id !== cfg.systemId || pdu.password !== cfg.password) {
    state.binds.failed += 1;
    log(`session ${ctx.id}: ${pdu.command} refused for system_id ${JSON.stringify(pdu.system_id)}`);
    send(ctx, pdu.response({ command_status: ESME_RBINDFAIL }), () => ctx.session.close());
    return;
  }
  ctx.bound = BIND_TYPES[pdu.command];
  ctx.systemId = pdu.system_id;
  state.binds.total += 1;
  state.binds.current += 1;
  send(ctx, pdu.response({ system_id: 'SMSCTEST' }));
  if (canReceive(ctx)) flushPendingReceipts(ctx.systemId);
}

function onSubmit(ctx, pdu) {
  if (!ctx.bound || ctx.bound === 'receiver') {
    send(ctx, pdu.response({ command_status: ESME_RINVBNDSTS }));
    return;
  }
  let parsed;
  try {
    parsed = parseSubmit(pdu.rawBuffer);
  } catch (e) {
    log(`session ${ctx.id}: ${e.message}`);
    send(ctx, pdu.response({ command_status: e.status || ESME_RINVCMDLEN }));
    return;
  }
  const f = state.faults;
  let status = ESME_ROK;
  if (f.queue.length > 0) {
    const head = f.queue[0];
    status = head.status;
    head.remaining -= 1;
    if (head.remaining <= 0) f.queue.shift();
  }
  const at = new Date();
  const id = status === ESME_ROK ? nextMessageId() : '';
  const rec = Object.assign({ id, status, session: ctx.id, system_id: ctx.systemId }, parsed, { at: at.toISOString() });
  state.submits.push(rec);

  // Receipt settings are taken when the submit arrives.
  const stat = f.receipt;
  const rd = parsed.registered_delivery & 0x03;
  const wantReceipt = status === ESME_ROK && stat !== 'none' &&
    (rd === 1 || (rd === 2 && stat !== 'DELIVRD'));
  const receipt = wantReceipt ? {
    id, stat, err: f.receiptErr || (stat === 'UNDELIV' ? '001' : '000'), text: parsed.text,
    submit: parsed, submitAt: at, systemId: ctx.systemId, sessionId: ctx.id,
    delayMs: f.receiptDelayMs, attempts: 0, gen: generation,
  } : null;

  const respond = () => {
    const resp = status === ESME_ROK ? pdu.response({ message_id: id }) : pdu.response({ command_status: status });
    send(ctx, resp);
    if (receipt && receipt.gen === generation) scheduleReceipt(receipt);
  };
  if (f.delayMs > 0) setTimeout(respond, f.delayMs);
  else respond();
}

function onSessionClosed(ctx) {
  if (ctx.closed) return;
  ctx.closed = true;
  if (ctx.bound) state.binds.current = Math.max(0, state.binds.current - 1);
  sessions.delete(ctx.id);
  for (const finish of [...ctx.inflight]) finish('closed');
}

const smppServer = smpp.createServer((session) => {
  const ctx = { id: ++sessionCounter, session, bound: null, systemId: null, closed: false, inflight: new Set() };
  sessions.set(ctx.id, ctx);
  try { session.socket.setNoDelay(true); } catch (e) { /* ignore */ }
  session.on('close', () => onSessionClosed(ctx));
  session.on('error', (e) => {
    // Includes PDU parse errors, after which smpp 0.5.1 stops reading the
    // session: drop it.
    log(`session ${ctx.id}: ${e.message}`);
    session.socket.destroy();
  });
  session.on('pdu', (pdu) => {
    if (pdu.isResponse()) return; // matched to requests by the library
    switch (pdu.command) {
      case 'bind_transceiver':
      case 'bind_transmitter':
      case 'bind_receiver':
        onBind(ctx, pdu);
        return;
      case 'enquire_link':
        send(ctx, pdu.response());
        return;
      case 'unbind':
        send(ctx, pdu.response(), () => ctx.session.close());
        if (ctx.bound) {
          state.binds.current = Math.max(0, state.binds.current - 1);
          ctx.bound = null;
        }
        return;
      case 'submit_sm':
        onSubmit(ctx, pdu);
        return;
      default:
        if (!ctx.bound) send(ctx, pdu.response({ command_status: ESME_RINVBNDSTS }));
        else send(ctx, pdu.response({ command_status: ESME_RINVCMDID }));
    }
  });
});

// ---------------------------------------------------------------------------
// MO
// ---------------------------------------------------------------------------
function addressOf(addr) {
  if (addr.startsWith('+')) return { addr: addr.slice(1), ton: 1, npi: 1 };
  if (/^[0-9]+$/.test(addr)) return { addr, ton: 0, npi: 1 };
  return { addr, ton: 5, npi: 0 };
}

function sendMO(body, reply) {
  const systemId = body.system_id || cfg.systemId;
  const ctx = pickReceiver(systemId, null);
  if (!ctx) {
    reply(409, { sent: false, error: `no receiver or transceiver bound for system_id ${systemId}` });
    return;
  }
  const from = addressOf(body.from);
  const to = addressOf(body.to);
  const gsm = gsmFits(body.text);
  const payload = gsm ? gsmEncode(body.text) : ucs2Encode(body.text);
  const options = {
    source_addr_ton: from.ton, source_addr_npi: from.npi, source_addr: from.addr,
    dest_addr_ton: to.ton, dest_addr_npi: to.npi, destination_addr: to.addr,
    esm_class: 0x00, data_coding: gsm ? 0 : 8,
  };
  if (payload.length <= 254) options.short_message = payload;
  else { options.short_message = Buffer.alloc(0); options.message_payload = payload; }
  const gen = generation;
  state.mo.sent += 1;
  request(ctx, 'deliver_sm', options, (err, resp) => {
    if (err === 'timeout') { reply(504, { sent: false, error: 'no deliver_sm_resp within 5s' }); return; }
    if (err) { reply(502, { sent: false, error: `session ${err}` }); return; }
    if (resp.command_status !== ESME_ROK) { reply(502, { sent: false, status: resp.command_status }); return; }
    if (gen === generation) state.mo.acked += 1;
    reply(200, { sent: true });
  });
}

// ---------------------------------------------------------------------------
// HTTP control API
// ---------------------------------------------------------------------------
const isInt = (v) => Number.isInteger(v);

// Validates a /control body; returns a list of changes or throws.
function parseControl(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('body must be a JSON object');
  const changes = [];
  for (const [k, v] of Object.entries(body)) {
    switch (k) {
      case 'throttle':
        if (!isInt(v) || v < 0) throw new Error('throttle must be an integer >= 0');
        if (v > 0) changes.push((f) => f.queue.push({ status: ESME_RTHROTTLED, remaining: v }));
        break;
      case 'error': {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('error must be {"status": int, "count": int}');
        for (const ek of Object.keys(v)) if (ek !== 'status' && ek !== 'count') throw new Error(`unknown field error.${ek}`);
        const count = v.count === undefined ? 1 : v.count;
        if (!isInt(v.status) || v.status < 0 || v.status > 0xffffffff) throw new Error('error.status must be an integer in 0..0xFFFFFFFF (0 answers OK: it lets a test fault a later submit)');
        if (!isInt(count) || count < 0) throw new Error('error.count must be an integer >= 0');
        if (count > 0) changes.push((f) => f.queue.push({ status: v.status, remaining: count }));
        break;
      }
      case 'delay_ms':
        if (!isInt(v) || v < 0) throw new Error('delay_ms must be an integer >= 0');
        changes.push((f) => { f.delayMs = v; });
        break;
      case 'receipt':
        if (!RECEIPT_VALUES.includes(v)) throw new Error(`receipt must be one of ${RECEIPT_VALUES.join(', ')}`);
        changes.push((f) => { f.receipt = v; });
        break;
      case 'receipt_err':
        if (typeof v !== 'string' || !/^[0-9]{3}$/.test(v)) throw new Error('receipt_err must be a 3-digit string');
        changes.push((f) => { f.receiptErr = v; });
        break;
      case 'receipt_delay_ms':
        if (!isInt(v) || v < 0) throw new Error('receipt_delay_ms must be an integer >= 0');
        changes.push((f) => { f.receiptDelayMs = v; });
        break;
      case 'clear_faults':
        if (typeof v !== 'boolean') throw new Error('clear_faults must be a boolean');
        if (v) changes.push((f) => { f.queue = []; });
        break;
      default:
        throw new Error(`unknown field ${k}`);
    }
  }
  return changes;
}

function faultsView() {
  const f = state.faults;
  return {
    pending: f.queue.map((q) => ({ status: q.status, count: q.remaining })),
    delay_ms: f.delayMs, receipt: f.receipt, receipt_err: f.receiptErr, receipt_delay_ms: f.receiptDelayMs,
  };
}

function reset() {
  generation += 1;
  for (const t of receiptTimers) clearTimeout(t);
  receiptTimers.clear();
  pendingReceipts = [];
  state.submits = [];
  state.binds.total = 0;
  state.binds.failed = 0;
  state.binds.current = boundSessions().length; // live state, not a counter
  state.receipts = { sent: 0, acked: 0 };
  state.mo = { sent: 0, acked: 0 };
  state.faults = defaultFaults();
}

function drop() {
  let n = 0;
  for (const s of [...smppServer.sessions]) { s.socket.destroy(); n++; }
  for (const c of [...sessions.values()]) c.session.socket.destroy();
  return n;
}

function readBody(req, cb) {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > 1 << 20) { req.destroy(); return; }
    chunks.push(c);
  });
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    if (raw.trim() === '') { cb(null, {}); return; }
    try { cb(null, JSON.parse(raw)); } catch (e) { cb(e); }
  });
}

const httpServer = http.createServer((req, res) => {
  const reply = (code, obj) => {
    const body = JSON.stringify(obj);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const path = (req.url || '/').split('?')[0];
  const route = `${req.method} ${path}`;
  const known = ['/record', '/control', '/reset', '/drop', '/healthz', '/mo'];
  switch (route) {
    case 'GET /healthz':
      reply(200, { ok: true });
      return;
    case 'GET /record':
      reply(200, {
        submits: state.submits, binds: state.binds, receipts: state.receipts, mo: state.mo,
        sessions: boundSessions(), faults: faultsView(),
      });
      return;
    case 'POST /control':
      readBody(req, (err, body) => {
        if (err) { reply(400, { error: `bad JSON: ${err.message}` }); return; }
        let changes;
        try { changes = parseControl(body); } catch (e) { reply(400, { error: e.message }); return; }
        for (const apply of changes) apply(state.faults);
        reply(200, {});
      });
      return;
    case 'POST /reset':
      readBody(req, () => { reset(); reply(200, {}); });
      return;
    case 'POST /drop':
      readBody(req, () => reply(200, { dropped: drop() }));
      return;
    case 'POST /mo':
      readBody(req, (err, body) => {
        if (err) { reply(400, { error: `bad JSON: ${err.message}` }); return; }
        if (body === null || typeof body !== 'object') { reply(400, { error: 'body must be a JSON object' }); return; }
        for (const k of Object.keys(body)) {
          if (!['from', 'to', 'text', 'system_id'].includes(k)) { reply(400, { error: `unknown field ${k}` }); return; }
        }
        if (typeof body.from !== 'string' || typeof body.to !== 'string' || typeof body.text !== 'string' || !body.from || !body.to) {
          reply(400, { error: 'from, to and text must be strings (from and to non-empty)' });
          return;
        }
        if (body.system_id !== undefined && typeof body.system_id !== 'string') { reply(400, { error: 'system_id must be a string' }); return; }
        sendMO(body, reply);
      });
      return;
    default:
      if (known.includes(path)) reply(405, { error: `method ${req.method} not allowed on ${path}` });
      else reply(404, { error: `no route ${path}` });
  }
});

// ---------------------------------------------------------------------------
// Start-up and shutdown
// ---------------------------------------------------------------------------
function listen(server, port, name) {
  return new Promise((resolve, reject) => {
    const onError = (e) => reject(Object.assign(e, { listener: name }));
    server.once('error', onError);
    server.listen(port, cfg.host, () => {
      server.removeListener('error', onError);
      server.on('error', (e) => log(`${name} server error:`, e.message));
      resolve(server.address().port);
    });
  });
}

let shuttingDown = false;
function shutdown(reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`shutting down (${reason})`);
  for (const t of receiptTimers) clearTimeout(t);
  let open = 2;
  const closed = () => { if (--open === 0) process.exit(0); };
  smppServer.close(closed);
  httpServer.close(closed);
  drop();
  if (httpServer.closeAllConnections) httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

(async () => {
  try {
    const smppPort = await listen(smppServer, cfg.smppPort, 'smpp');
    const httpPort = await listen(httpServer, cfg.httpPort, 'http');
    process.stdout.write(JSON.stringify({ smpp: smppPort, http: httpPort }) + '\n');
    log(`listening: smpp ${cfg.host}:${smppPort}, http ${cfg.host}:${httpPort}, system_id ${cfg.systemId}`);
    if (cfg.watchStdin) {
      process.stdin.on('end', () => shutdown('stdin closed'));
      process.stdin.on('error', () => shutdown('stdin error'));
      process.stdin.resume();
    }
  } catch (e) {
    log(`cannot listen (${e.listener}): ${e.code || ''} ${e.message}`);
    process.exit(e.code === 'EADDRINUSE' ? 3 : 1);
  }
})();
