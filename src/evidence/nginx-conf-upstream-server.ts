import type { UpstreamServer } from "./nginx-conf-records.js";
import type { Directive } from "./nginx-conf-tokens.js";
import { parseDuration } from "./nginx-conf-units.js";

function parseServerAddress(
  raw: string,
  module: string,
): Pick<UpstreamServer, "address" | "host" | "port" | "unix"> {
  if (raw.startsWith("unix:")) return { address: raw, host: null, port: null, unix: raw.slice(5) };
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(raw);
  if (!m?.[1]) return { address: raw, host: null, port: null };
  const port = m[2] ? Number(m[2]) : module === "http" ? 80 : null;
  return { address: port === null ? m[1] : `${m[1]}:${port}`, host: m[1], port };
}

/** An upstream{} `server` directive, its parameters filled with nginx's defaults where not written. */
export function upstreamServer(d: Directive, module: string): UpstreamServer {
  const raw = d.args[0] ?? "";
  const params: UpstreamServer["params"] = {
    weight: 1,
    max_fails: 1,
    fail_timeout: 10,
    backup: false,
    down: false,
    resolve: false,
    max_conns: 0,
    other: {},
  };
  for (const arg of d.args.slice(1)) {
    const eq = arg.indexOf("=");
    const key = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? "" : arg.slice(eq + 1);
    if (key === "backup" || key === "down" || key === "resolve") params[key] = true;
    else if (key === "fail_timeout" && parseDuration(value) !== undefined)
      params.fail_timeout = parseDuration(value) ?? 10;
    else if ((key === "weight" || key === "max_fails" || key === "max_conns") && /^\d+$/.test(value))
      params[key] = Number(value);
    else params.other[key] = value;
  }
  return {
    ...parseServerAddress(raw, module),
    raw,
    params,
    line: d.line,
    fileLine: d.fileLine,
    text: d.text,
  };
}
