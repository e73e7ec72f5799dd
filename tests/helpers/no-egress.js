// Preloaded (node -r) into the test servers the suite runs with Node
// (Azurite, s3rver): every DNS lookup of a name other than localhost and
// every TCP connection to an address outside the loopback range is refused
// before it leaves the process, and written to $BC_EGRESS_LOG, so a test
// can assert that nothing tried to phone home (Azurite sends telemetry
// unless started with --disableTelemetry).
"use strict";
const dns = require("dns");
const net = require("net");
const fs = require("fs");

const log = process.env.BC_EGRESS_LOG;
function record(what) {
  if (log) fs.appendFileSync(log, `${process.pid} ${what}\n`);
}
function loopbackName(host) {
  return host === "localhost" || host === "" || host === undefined || /\.localhost$/.test(host);
}
function loopbackAddress(addr) {
  return /^127\./.test(addr) || addr === "::1" || addr === "::ffff:127.0.0.1" || addr === "0.0.0.0" || addr === "::";
}
function loopback(host) {
  return loopbackName(host) || (net.isIP(host) && loopbackAddress(host));
}

const lookup = dns.lookup;
dns.lookup = function (host, options, callback) {
  if (typeof options === "function") callback = options;
  if (!loopback(host)) {
    record(`dns ${host}`);
    const err = Object.assign(new Error(`no-egress: lookup of ${host} refused`), { code: "ENOTFOUND" });
    return process.nextTick(() => callback(err));
  }
  return lookup.apply(this, arguments);
};
if (dns.promises) {
  const plookup = dns.promises.lookup;
  dns.promises.lookup = function (host) {
    if (!loopback(host)) {
      record(`dns ${host}`);
      return Promise.reject(Object.assign(new Error(`no-egress: lookup of ${host} refused`), { code: "ENOTFOUND" }));
    }
    return plookup.apply(this, arguments);
  };
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = typeof args[0] === "object" && args[0] !== null ? (Array.isArray(args[0]) ? args[0][0] : args[0]) : { port: args[0], host: args[1] };
  const host = o && (o.host || o.hostname);
  if (o && !o.path && host && net.isIP(host) && !loopbackAddress(host)) {
    record(`connect ${host}:${o.port}`);
    process.nextTick(() => this.destroy(new Error(`no-egress: connection to ${host} refused`)));
    return this;
  }
  return connect.apply(this, args);
};
