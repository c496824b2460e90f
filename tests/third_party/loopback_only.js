// Loopback only: a connection to anything but the loopback interface fails the run (exit status 3),
// so no request of virtual-alexa's, the AWS SDK's or nock's can leave the machine unnoticed. Required
// first by every driver here; ``blocked`` lists what was refused.
"use strict";

const net = require("net");

const blocked = [];
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function connectTarget(args) {
  const first = args[0];
  if (Array.isArray(first)) return connectTarget(first); // net's internal normalized form
  if (first && typeof first === "object") return first.path ? null : first.host || "localhost";
  if (typeof first === "string" && !/^\d+$/.test(first)) return null; // a Unix socket path
  return typeof args[1] === "string" ? args[1] : "localhost";
}

process.on("exit", () => {
  if (blocked.length) process.exitCode = 3;
});

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const host = connectTarget(args);
  if (host !== null && !LOOPBACK.test(host)) {
    blocked.push(host);
    process.stderr.write(`loopback only: blocked a connection to ${host}\n`);
    // Fail the socket once its user has had the chance to listen for errors, as a refused
    // connection would; the exit handler above turns any block into exit status 3.
    process.nextTick(() => this.destroy(new Error(`loopback only: off-machine connection to ${host} blocked`)));
    return this;
  }
  return realConnect.apply(this, args);
};

// virtual-alexa pulls in nock 9, which patches http at require time. With no interceptors it lets
// requests through; make it refuse everything except loopback as a second guard.
const nock = require("nock");
nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);

module.exports = { blocked };
