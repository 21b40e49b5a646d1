import type { Diagnosis } from "../../src/diagnosis/types.js";
import type { SummaryInput } from "../../src/summary/schema.js";

/**
 * Host text an attacker on a compromised host (or a log line quoting a request) would write to reach the
 * people reading the bot's output: terminal escapes, Slack markup and mentions, Markdown links, images,
 * HTML and fences. Each piece alone, then all of them in one string.
 */
export const TERMINAL = [
  "\u001b[31mred\u001b[0m",
  "\u001b]0;pwned window title\u0007",
  "\u001b]8;;https://evil.example/\u001b\\hidden link\u001b]8;;\u001b\\",
  "\u001bP+q544e\u001b\\",
  "\u001b[2J\u001b[H",
  "\u009b31mC1 CSI",
  "\u009d0;C1 OSC\u009c",
  "\r\u001b[Kforged line",
  "\u0007\u0008\u007f\u0000",
  "\u202eevil\u202c",
];
export const SLACK = [
  "<!channel>",
  "<!here>",
  "<!everyone>",
  "<@U123>",
  "<#C1>",
  "<!subteam^S1>",
  "<https://x.example|y>",
  "@here @channel",
  "*bold*",
  "_italic_",
  "~strike~",
  "`tick`",
  "```",
  "> quoted",
  "&lt;!channel&gt;",
];
export const MARKDOWN = [
  "[x](https://evil.example/)",
  "![x](https://evil.example/x.png)",
  "<script>alert(1)</script>",
  '<img src=x onerror="alert(1)">',
  "<https://evil.example/auto>",
  "https://evil.example/bare",
  "# INJECTED heading",
  "| a | b |",
  "````",
  "~~~",
  "[ref]: https://evil.example/",
  "<!-- comment -->",
];
export const PIECES = [...TERMINAL, ...SLACK, ...MARKDOWN];

/** Every piece in one line, then on lines of their own, and a line after a would-be closing fence. */
export const HOSTILE = `${PIECES.join(" ")}\n${PIECES.join("\n")}\n\`\`\`\`\`\`\`\`\nAFTER-FENCE`;

/** The diagnosis with `text` put into every string a host, a log or a config can reach. */
export function hostileDiagnosis(base: Diagnosis, text: string = HOSTILE): Diagnosis {
  const line = (s: string) => `${s} ${text}`;
  const ref = <T extends { host: string; source: string; text: string; time?: string }>(r: T): T => ({
    ...r,
    host: line(r.host),
    source: line(r.source),
    text: line(r.text),
    ...(r.time ? { time: line(r.time) } : {}),
  });
  return {
    ...base,
    service: line(base.service),
    window: { since: line(base.window.since), until: line(base.window.until) },
    summary: line(base.summary),
    gateway: { ...base.gateway, upstream: line(base.gateway.upstream || "checkout") },
    verdicts: base.verdicts.map((v) => ({
      ...v,
      target: line(v.target),
      title: line(v.title),
      // at the start of its own line in every format: a quote, a heading or a list item if obeyed
      explanation: `> ${text} ${v.explanation}`,
      nextSteps: v.nextSteps.map((s, i) => (i === 0 ? `# INJECTED ${s} ${text}` : line(s))),
      evidence: v.evidence.map(ref),
    })),
    trace: base.trace.map((t) => ({
      ...t,
      target: line(t.target),
      step: line(t.step),
      question: line(t.question),
      value: line(t.value),
      outcome: line(t.outcome),
      evidence: t.evidence.map(ref),
    })),
    timeline: base.timeline.map((e) => ({ ...e, host: line(e.host), what: line(e.what), ref: ref(e.ref) })),
    hosts: base.hosts.map((h, i) => ({
      ...h,
      name: line(h.name),
      // one host failed, one with a failed command: their messages are host text too
      ok: i === 0 ? h.ok : false,
      failure: i === 0 ? h.failure : { code: line("ssh_failed"), message: line("connection reset") },
      commands: h.commands.map((c, j) =>
        j === 0 ? { ...c, id: line(c.id), ok: false, failure: line("exit 1") } : c,
      ),
    })),
  };
}

/** An incident around the diagnosis, its alert summary and service hostile too. */
export function hostileSummaryInput(d: Diagnosis, text: string = HOSTILE): SummaryInput {
  const at = Date.parse(d.collectedAt);
  return {
    incident: {
      id: "inc-hostile",
      service: `checkout ${text}`,
      openedAt: at - 60_000,
      closedAt: at + 60_000,
      closedReason: "resolved",
      source: "alertmanager",
      alertStartsAt: new Date(at - 90_000).toISOString(),
      alertSummary: text,
    },
    zone: "UTC",
    diagnoses: [{ runId: "run-1", at: at + 300, requestedBy: "U0ALICE", diagnosis: d }],
    alertEvents: [
      { at: at - 60_000, status: "firing", outcome: "opened" },
      { at: at + 60_000, status: "resolved", outcome: "closed" },
    ],
    actions: [{ at: at + 1000, user: "U0ALICE", action: "feedback_yes", runId: "run-1" }],
  };
}
