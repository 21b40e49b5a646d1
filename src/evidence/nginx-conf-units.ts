/** nginx time (`90s`, `1m30s`, `500ms`, `1h`, bare number = seconds) in seconds. */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = {
    ms: 0.001,
    s: 1,
    m: 60,
    h: 3600,
    d: 86400,
    w: 604800,
    M: 2592000,
    y: 31536000,
  };
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+)\s*(ms|[smhdwMy])\s*/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (units[m[2] ?? ""] ?? 0);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : Math.round(total * 1000) / 1000;
}

/** nginx size (`4k`, `8K`, `1m`, bare number = bytes) in bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? "").toLowerCase();
  return Number(m[1]) * (unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1);
}
