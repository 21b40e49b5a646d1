import type { SlackApi } from "../server/slack-api.js";

/** Members of Slack user groups, cached for `ttlMs` (access rules name groups; the ack cannot wait for Slack). */
export class UsergroupCache {
  private readonly cache = new Map<string, { users: string[]; at: number }>();

  constructor(
    private readonly api: SlackApi,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  cached(id: string): boolean {
    const c = this.cache.get(id);
    return c !== undefined && this.now() - c.at < this.ttlMs;
  }

  async members(id: string): Promise<string[]> {
    const c = this.cache.get(id);
    if (c && this.now() - c.at < this.ttlMs) return c.users;
    try {
      const r = await this.api.call("usergroups.users.list", { usergroup: id });
      const users = Array.isArray(r.users) ? r.users.map(String) : [];
      this.cache.set(id, { users, at: this.now() });
      return users;
    } catch {
      // Slack unreachable: an expired list is better than refusing everyone; none at all refuses.
      return c?.users ?? [];
    }
  }
}
