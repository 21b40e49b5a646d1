/**
 * Maps looked up by names from chat, webhooks and the command line: without a prototype, so `constructor`
 * or `__proto__` is no service or host (it found Object's members before).
 */
export function withoutPrototype<V>(r: Record<string, V>): Record<string, V> {
  return Object.assign(Object.create(null) as Record<string, V>, r);
}
