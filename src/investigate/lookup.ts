import { lookup } from "node:dns/promises";

/** DNS lookup of a backend's name, given up after `ms` (a dead resolver must not hold the diagnosis). */
export function lookupWithin(ms: number) {
  return async (name: string): Promise<string[]> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string[]>((resolve) => {
      timer = setTimeout(() => resolve([]), ms);
    });
    try {
      const found = lookup(name, { all: true }).then((r) => r.map((a) => a.address));
      return await Promise.race([found, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
