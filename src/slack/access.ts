import type { AccessRule, SlackSettings } from "../config/schema.js";

export type AccessDecision = { ok: true } | { ok: false; reason: string };

/** The rule that governs a service: its own, else `*`, else none (anyone, anywhere). */
export function ruleFor(settings: SlackSettings, service: string): AccessRule | undefined {
  return Object.hasOwn(settings.access, service) ? settings.access[service] : settings.access["*"];
}

/**
 * May `user` diagnose `service` in `channel`? Channel lists and user lists are checked as given; user groups
 * through `membersOf` (cached by the caller). The refusal says who may, and where.
 */
export async function mayDiagnose(
  rule: AccessRule | undefined,
  service: string,
  who: { user: string; channel: string },
  membersOf: (usergroup: string) => Promise<string[]>,
): Promise<AccessDecision> {
  if (!rule) return { ok: true };
  if (rule.channels && !rule.channels.includes(who.channel)) {
    return {
      ok: false,
      reason: `${service} can be diagnosed only in ${rule.channels.map((c) => `<#${c}>`).join(", ")}.`,
    };
  }
  const users = rule.users ?? [];
  const groups = rule.usergroups ?? [];
  if (users.length === 0 && groups.length === 0) return { ok: true };
  if (users.includes(who.user)) return { ok: true };
  for (const g of groups) if ((await membersOf(g)).includes(who.user)) return { ok: true };
  const whoMay = [...users.map((u) => `<@${u}>`), ...groups.map((g) => `<!subteam^${g}>`)];
  return { ok: false, reason: `${service} can be diagnosed only by ${whoMay.join(", ")}: ask one of them.` };
}

/** Whether a decision needs a user group lookup that is not cached yet (then the ack cannot wait for it). */
export function needsLookup(rule: AccessRule | undefined, cached: (usergroup: string) => boolean): boolean {
  return (rule?.usergroups ?? []).some((g) => !cached(g));
}
