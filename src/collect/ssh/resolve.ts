import { lookup as dnsLookup } from "node:dns/promises";

/** Every address a host name resolves to, in the resolver's order. */
export type Lookup = (name: string) => Promise<string[]>;

/** The system's resolver (getaddrinfo: /etc/hosts, DNS, whatever nsswitch.conf names). */
export const systemLookup: Lookup = async (name) =>
  (await dnsLookup(name, { all: true })).map((a) => a.address);

/**
 * System lookups running at once. getaddrinfo runs on libuv's thread pool (4 threads by default), which
 * file reads share, and a lookup cannot be cancelled: against a resolver that never answers each one holds
 * its thread for the resolver's own timeout. Unbounded, a few hanging names would stall every file read of
 * the process (known_hosts, keys), and so every other host's collection.
 */
const MAX_SYSTEM_LOOKUPS = 2;
let running = 0;
const queue: (() => void)[] = [];
/** One lookup per name (and resolver) at a time, shared by everyone who asks meanwhile. */
const inFlightBy = new WeakMap<Lookup, Map<string, Promise<string[]>>>();

function limited(name: string, lookup: Lookup): Promise<string[]> {
  const key = name.toLowerCase();
  let inFlight = inFlightBy.get(lookup);
  if (!inFlight) {
    inFlight = new Map();
    inFlightBy.set(lookup, inFlight);
  }
  const names = inFlight;
  const pending = inFlight.get(key);
  if (pending) return pending;
  const p = (async () => {
    if (running >= MAX_SYSTEM_LOOKUPS) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    try {
      return await lookup(name);
    } finally {
      running--;
      queue.shift()?.();
    }
  })();
  names.set(key, p);
  p.then(
    () => names.delete(key),
    () => names.delete(key),
  );
  return p;
}

/** Resolves `name` within `ms`: its addresses, or "timeout" when the resolver did not answer in time. */
export async function resolveWithin(
  name: string,
  ms: number,
  lookup: Lookup = systemLookup,
): Promise<string[] | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([limited(name, lookup), late]);
  } finally {
    clearTimeout(timer);
  }
}
