// The lab's backend service: a small node:http app whose failure modes are real (an uncaught
// exception, a memory blow-up that the kernel OOM-kills inside the memory cgroup, a log.Fatal-style
// exit, a write deadline shorter than the handler). Plain ESM so it starts in tens of milliseconds.
//
//   node app.mjs --name checkout-1 --address 127.0.0.11 --port 18080 [--mode ok|crash|oom|fatal|write-timeout]
//     [--handler-ms 5000] [--write-timeout-ms 2000] [--fail-after N] [--config FILE] [--log FILE]
//     [--config-required] [--pid-file FILE] [--socket PATH]
//
// --fail-after N (alias --crash-after): the Nth request triggers the mode's failure (crash, oom, fatal).
// --config FILE: read on SIGHUP (and by the Nth request in fatal mode); a reload that fails is fatal.
// --config-required: also read it at start; a service that cannot read it logs one fatal line and exits 1,
//   every time it is started (a crash loop under any supervisor).
// --pid-file FILE: write the process's own pid there at start, as daemons without a supervisor do.
// --socket PATH: listen on that unix socket instead of the address and port (mode 0666: its directory guards it),
//   replacing a stale one left by a process that died, and removing it whenever the process exits.
// Lines go to stdout/stderr (the supervisor appends both to the service's log file) or to --log FILE.
import { appendFileSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    name: { type: "string", default: "checkout" },
    address: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "18080" },
    log: { type: "string" },
    mode: { type: "string", default: "ok" },
    "handler-ms": { type: "string", default: "50" },
    "write-timeout-ms": { type: "string" },
    "fail-after": { type: "string" },
    "crash-after": { type: "string" },
    config: { type: "string" },
    "config-required": { type: "boolean", default: false },
    "pid-file": { type: "string" },
    socket: { type: "string" },
  },
});

const MODES = ["ok", "crash", "oom", "fatal", "write-timeout"];
if (!MODES.includes(opts.mode)) {
  process.stderr.write(`app: unknown --mode ${opts.mode} (one of ${MODES.join(", ")})\n`);
  process.exit(64);
}
const name = opts.name;
const port = Number(opts.port);
const handlerMs = Number(opts["handler-ms"]);
const writeTimeoutMs = Number(opts["write-timeout-ms"] ?? (opts.mode === "write-timeout" ? 2000 : 0));
const failAfter = Number(opts["fail-after"] ?? opts["crash-after"] ?? 0);
const configPath = opts.config ?? `/etc/${name}/flags.json`;
const logFd = opts.log === undefined ? 1 : openSync(opts.log, "a");

function log(level, msg) {
  writeSync(logFd, `${new Date().toISOString()} ${level} ${name}[${process.pid}]: ${msg}\n`);
}

/** Go's log.LstdFlags stamp: local time, no zone. */
function goStamp(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** log.Fatalf: one line, no stack, exit status 1. */
function fatal(msg) {
  const line = `${goStamp(new Date())} fatal: ${msg}\n`;
  if (opts.log === undefined) writeSync(2, line);
  else appendFileSync(opts.log, line);
  process.exit(1);
}

let flags = {};
function reloadConfig(what = "reload") {
  try {
    flags = JSON.parse(readFileSync(configPath, "utf8"));
    log("INFO", `config ${what}ed from ${configPath}`);
  } catch (err) {
    fatal(`config ${what} failed: ${err.message}`);
  }
}

if (opts["pid-file"] !== undefined) writeFileSync(opts["pid-file"], `${process.pid}\n`);
if (opts["config-required"]) {
  log("INFO", `starting, reading config ${configPath}`);
  reloadConfig("load");
}

const orders = new Map([["1001", { id: "1001", customer: { id: "c-17" }, total: 4200 }]]);

function priceOrder(order) {
  return {
    order: order.id,
    customer: order.customer.id,
    total: order.total,
    currency: flags.currency ?? "EUR",
  };
}

function handleCheckout(res, orderId) {
  const body = JSON.stringify({ instance: name, ...priceOrder(orders.get(orderId)) });
  res.writeHead(200, { "content-type": "application/json" });
  res.end(body);
}

/** Touches every page so the memory is charged to the cgroup now, not when first used. */
function buildReportCache() {
  const cache = [];
  for (;;) cache.push(Buffer.alloc(1 << 20, 1));
}

let served = 0;

const server = createServer((req, res) => {
  served += 1;
  const started = process.hrtime.bigint();
  res.on("finish", () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    log("INFO", `${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms`);
  });
  if (writeTimeoutMs > 0) {
    // Like Go's http.Server WriteTimeout: the deadline runs from the request, whatever the handler is doing.
    const deadline = setTimeout(() => req.socket.destroy(), writeTimeoutMs);
    res.on("close", () => clearTimeout(deadline));
  }
  const trigger = failAfter > 0 && served === failAfter;
  const url = new URL(req.url ?? "/", "http://backend");

  if (opts.mode === "crash" && trigger) {
    // The bug: eviction runs between the cache check and the lookup.
    log("INFO", `order cache full after ${served} requests, evicting ${orders.size} entries`);
    orders.clear();
    handleCheckout(res, url.searchParams.get("order") ?? "1001");
    return;
  }
  if (opts.mode === "oom" && (trigger || url.pathname === "/leak")) {
    log("INFO", `${req.method} ${req.url} warming report cache`);
    buildReportCache();
  }
  if (opts.mode === "fatal" && trigger) reloadConfig();

  if (url.pathname === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
  } else if (url.pathname === "/slow") {
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ instance: name, report: "done" }));
    }, handlerMs);
  } else {
    handleCheckout(res, url.searchParams.get("order") ?? "1001");
  }
});

process.on("SIGHUP", () => {
  log("INFO", "SIGHUP received, reloading config");
  reloadConfig();
});
process.on("SIGTERM", () => {
  log("INFO", "SIGTERM received, shutting down");
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
// Started by the supervisor over IPC: if it goes away, so does the service.
process.on("disconnect", () => process.exit(0));

const socketPath = opts.socket;
const ready = (where) => () => {
  log("INFO", `listening on ${where}`);
  // The equivalent of sd_notify(READY=1) for a Type=notify unit.
  process.send?.({ ready: true, pid: process.pid });
};
if (socketPath === undefined) {
  server.on("error", (err) => fatal(`listen tcp ${opts.address}:${port}: ${err.message}`));
  server.listen(port, opts.address, ready(`http://${opts.address}:${port}`));
} else {
  server.on("error", (err) => fatal(`listen unix ${socketPath}: ${err.message}`));
  // A process that died leaves its socket behind, and listen() would fail on it; gone with every exit too
  // (also a crash's: 'exit' handlers run), so that nginx finds no socket at all while nothing serves it.
  rmSync(socketPath, { force: true });
  process.on("exit", () => rmSync(socketPath, { force: true }));
  const umask = process.umask(0o111);
  server.listen(socketPath, () => {
    process.umask(umask);
    ready(`unix:${socketPath}`)();
  });
}
