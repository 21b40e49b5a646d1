// A service that cannot start: it logs a start banner, fails to read its config and exits 1 the Go
// log.Fatal way (one LstdFlags line, no stack), every time it is started.
import { readFileSync } from "node:fs";

const p = (n) => String(n).padStart(2, "0");
const stamp = (d) =>
  `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
const path = process.argv[2] ?? "/etc/checkout/flags.json";

console.log(`${new Date().toISOString()} INFO checkout[${process.pid}]: starting, config ${path}`);
try {
  JSON.parse(readFileSync(path, "utf8"));
} catch (err) {
  process.stderr.write(`${stamp(new Date())} fatal: config load failed: ${err.message}\n`);
  process.exit(1);
}
setInterval(() => undefined, 1000);
