#!/usr/bin/env node
import { main } from "../dist/main.js";

const args = process.argv.slice(2);
// Only the long-running `serve` traps signals (to finish what is in flight); other commands die on Ctrl-C.
const serving = args[0] === "serve";
if (serving) {
  // A long-running bot logs a stray rejection instead of dying of it; what it owed is in the store anyway.
  process.on("unhandledRejection", (e) => {
    process.stderr.write(
      `${JSON.stringify({ level: 50, time: new Date().toISOString(), app: "why502", msg: "unhandled rejection", err: String(e?.stack ?? e) })}\n`,
    );
  });
}

main(args, {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  stopRequested: serving
    ? new Promise((resolve) => {
        for (const sig of ["SIGTERM", "SIGINT"]) process.once(sig, () => resolve(sig));
      })
    : undefined,
}).then((code) => {
  process.exitCode = code;
  if (serving) process.exit(code);
});
