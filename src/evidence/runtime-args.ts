/**
 * The limits a runtime or worker server was started with, as its command line (`ps -o args`) names them:
 * gunicorn's worker `--timeout`, uWSGI's `--harakiri`, the JVM's `-Xmx`/`-XX:MaxHeapSize=`, Node's
 * `--max-old-space-size`. Settings from a config file or the environment are not on the command line.
 */
export interface RuntimeSetting {
  runtime: "gunicorn" | "uWSGI" | "JVM" | "Node.js";
  kind: "worker_timeout" | "heap";
  /** As written: `--timeout 2`, `-t 2`, `--harakiri=30`, `-Xmx32m`, `--max-old-space-size=24`. */
  setting: string;
  /** Seconds for a worker timeout, MiB for a heap. */
  value: number;
}

const base = (word: string): string => word.slice(word.lastIndexOf("/") + 1);

/** The program a command line runs, looking through interpreters (`/usr/bin/python3 /usr/bin/gunicorn ...`). */
function program(words: string[]): { name: string; at: number } | undefined {
  for (let i = 0; i < Math.min(words.length, 4); i++) {
    const name = base(words[i] ?? "");
    if (/^gunicorn3?$/.test(name)) return { name: "gunicorn", at: i };
    if (/^uwsgi(?:-core)?$/.test(name)) return { name: "uwsgi", at: i };
    if (name === "java") return { name: "java", at: i };
    if (name === "node" || name === "nodejs") return { name: "node", at: i };
    if (name === "-m" && /^gunicorn3?$/.test(words[i + 1] ?? "")) return { name: "gunicorn", at: i + 1 };
    if (!/^(?:python[\d.]*|pypy[\d.]*|env)$/.test(name) && !name.startsWith("-")) return undefined;
  }
  return undefined;
}

/** The last `--long N`, `--long=N`, `-s N` or `-sN`: its value and how it was written. */
function option(words: string[], long: string, short?: string): { text: string; value: string } | undefined {
  for (let i = words.length - 1; i >= 0; i--) {
    const w = words[i] ?? "";
    const next = words[i + 1];
    if (w.startsWith(`${long}=`)) return { text: w, value: w.slice(long.length + 1) };
    if ((w === long || w === short) && next !== undefined) return { text: `${w} ${next}`, value: next };
    if (short !== undefined && w.startsWith(short) && w.length > short.length && !w.startsWith("--"))
      return { text: w, value: w.slice(short.length) };
  }
  return undefined;
}

const SECONDS = /^\d+(?:\.\d+)?$/;
const MIB_PER: Record<string, number> = { "": 1 / 1048576, k: 1 / 1024, m: 1, g: 1024, t: 1048576 };

/** A JVM size (`32m`, `1g`, `524288k`, bytes without a suffix) in MiB. */
function jvmMiB(size: string): number | undefined {
  const m = /^(\d+)([kKmMgGtT]?)$/.exec(size);
  const per = MIB_PER[(m?.[2] ?? "").toLowerCase()];
  if (!m || per === undefined) return undefined;
  return Math.round(Number(m[1]) * per * 100) / 100;
}

/** JVM and Node options come before what they run (a main class, `-jar app.jar`, a source file, a script). */
const TAKES_VALUE = new Set(["-cp", "-classpath", "--class-path", "-p", "--module-path", "-r", "--require"]);
function leadingOptions(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? "";
    if (!w.startsWith("-") || w === "-jar" || w === "--") break;
    out.push(w);
    if (TAKES_VALUE.has(w)) i++;
  }
  return out;
}

export function runtimeSettings(args: string): RuntimeSetting[] {
  const words = args.trim().split(/\s+/);
  const prog = program(words);
  if (!prog) return [];
  const rest = words.slice(prog.at + 1);
  if (prog.name === "gunicorn") {
    const t = option(rest, "--timeout", "-t");
    return t && SECONDS.test(t.value)
      ? [{ runtime: "gunicorn", kind: "worker_timeout", setting: t.text, value: Number(t.value) }]
      : [];
  }
  if (prog.name === "uwsgi") {
    const h = option(rest, "--harakiri");
    return h && SECONDS.test(h.value)
      ? [{ runtime: "uWSGI", kind: "worker_timeout", setting: h.text, value: Number(h.value) }]
      : [];
  }
  const opts = leadingOptions(rest);
  if (prog.name === "java") {
    const xmx = opts.findLast((w) => /^-Xmx\w+$/.test(w) || /^-XX:MaxHeapSize=\w+$/.test(w));
    const mib = xmx === undefined ? undefined : jvmMiB(xmx.replace(/^-Xmx|^-XX:MaxHeapSize=/, ""));
    return xmx !== undefined && mib !== undefined
      ? [{ runtime: "JVM", kind: "heap", setting: xmx, value: mib }]
      : [];
  }
  const w = opts.findLast((x) => /^--max[-_]old[-_]space[-_]size=\d+$/.test(x));
  return w === undefined
    ? []
    : [{ runtime: "Node.js", kind: "heap", setting: w, value: Number(w.split("=")[1]) }];
}
