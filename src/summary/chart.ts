import { Resvg } from "@resvg/resvg-js";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Field } from "vega-lite/types_unstable/channeldef.js";
import type { UnitSpec } from "vega-lite/types_unstable/spec/unit.js";
import { oneLine } from "./escape.js";
import type { Summary, TimelineEntry, TimelineKind } from "./schema.js";
import {
  addMinutes,
  between,
  clock,
  dateIn,
  minutesIn as dayjsMinutes,
  ms,
  startOfMinute,
  wallClock,
} from "./time.js";
import { zoneLabel } from "./words.js";

export const CHART_FONT = "DejaVu Sans";

const PLOT_WIDTH = 720;
const PLOT_HEIGHT = 260;
const LABEL_FONT_SIZE = 10;
const LABEL_ROW_PX = 14;
const LABEL_ROWS = 3;

const COLOURS = {
  502: "#c0392b",
  504: "#7d3c98",
  alert: "#f5b041",
  death: "#1b2631",
  restart: "#1e8449",
  reload: "#2471a3",
};

const MARKED: Partial<Record<TimelineKind, { label: string; colour: string }>> = {
  oom_kill: { label: "OOM kill", colour: COLOURS.death },
  crash: { label: "crash", colour: COLOURS.death },
  segfault: { label: "segfault", colour: COLOURS.death },
  exit: { label: "exit", colour: COLOURS.death },
  restart: { label: "restart", colour: COLOURS.restart },
  nginx_reload: { label: "nginx reload", colour: COLOURS.reload },
};

const PLURAL: Partial<Record<TimelineKind, string>> = {
  oom_kill: "OOM kills",
  crash: "crashes",
  segfault: "segfaults",
  exit: "exits",
  nginx_reload: "nginx reloads",
};

/** An exit this close to a kill or crash on the same host is that kill's. */
const EXIT_AFTER_DEATH_MS = 5000;

const DEATH_KINDS: TimelineKind[] = ["oom_kill", "crash", "segfault"];

/**
 * Vega sizes text without a canvas at 0.8 em a character, far wider than DejaVu Sans draws it: a subtitle
 * line longer than this would widen the image past the plot and leave it half empty.
 */
const SUBTITLE_CHARS = 80;

/** Parts joined with ` · ` into lines of at most `max` characters. */
function wrap(parts: string[], max: number): string[] {
  const lines: string[] = [];
  for (const p of parts) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 3 + p.length <= max) lines[lines.length - 1] = `${last} · ${p}`;
    else lines.push(p.length > max ? `${p.slice(0, max - 1)}…` : p);
  }
  return lines;
}

/** Events worth a line on the chart: an exit right after a kill or crash on the same host is that kill. */
function markedEvents(timeline: TimelineEntry[]): TimelineEntry[] {
  const deaths = timeline.filter((e) => DEATH_KINDS.includes(e.kind));
  return timeline.filter((e) => {
    if (!MARKED[e.kind]) return false;
    if (e.kind !== "exit") return true;
    return !deaths.some((d) => d.host === e.host && Math.abs(between(d.at, e.at)) <= EXIT_AFTER_DEATH_MS);
  });
}

interface Label {
  at: number;
  text: string;
  row: number;
  align: "left" | "right";
}

/**
 * One label per cluster of nearby events (`OOM kill ×4 · restart ×4 · checkout-1`), in rows so that labels
 * next to each other do not overlap, flipped to the left of their line near the right edge.
 */
function labels(
  events: { at: number; kind: TimelineKind; host?: string }[],
  domain: [number, number],
): Label[] {
  const span = Math.max(1, domain[1] - domain[0]);
  const px = (t: number) => ((t - domain[0]) / span) * PLOT_WIDTH;
  const charPx = LABEL_FONT_SIZE * 0.62;
  const clusters: (typeof events)[] = [];
  const sorted = [...events].sort((a, b) => a.at - b.at);
  for (const e of sorted) {
    const last = clusters.at(-1);
    const head = last?.[0];
    if (last && head && px(e.at) - px(head.at) < 40) last.push(e);
    else clusters.push([e]);
  }
  const rowEnds: number[] = Array.from({ length: LABEL_ROWS }, () => Number.NEGATIVE_INFINITY);
  const out: Label[] = [];
  for (const c of clusters) {
    const head = c[0];
    if (!head) continue;
    const counts = new Map<string, number>();
    for (const e of c) {
      const label = MARKED[e.kind]?.label ?? e.kind;
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    const hosts = [...new Set(c.map((e) => e.host).filter((h): h is string => !!h))];
    const parts = [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
    if (hosts.length === 1 && hosts[0]) parts.push(oneLine(hosts[0]).slice(0, 30));
    else if (hosts.length > 1) parts.push(`${hosts.length} hosts`);
    const text = parts.join(" · ");
    const width = text.length * charPx + 6;
    // After the cluster's last line, so that no line of the cluster crosses the text.
    const tail = c.at(-1) ?? head;
    const x = px(tail.at);
    const align = x + width > PLOT_WIDTH ? "right" : "left";
    const from = align === "left" ? x : x - width;
    const to = align === "left" ? x + width : x;
    let row = rowEnds.findIndex((end) => end + 4 < from);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = to;
    out.push({ at: align === "left" ? tail.at : head.at, text, row, align });
  }
  return out;
}

function rules(events: { at: number }[], colour: string, dash?: number[]): UnitSpec<Field> {
  return {
    data: { values: events },
    mark: { type: "rule", strokeWidth: 1.5, color: colour, ...(dash ? { strokeDash: dash } : {}) },
    encoding: { x: { field: "at", type: "temporal" } },
  };
}

function labelLayer(marks: Label[], align: "left" | "right", halo: boolean): UnitSpec<Field> {
  return {
    data: {
      values: marks
        .filter((l) => l.align === align)
        .map((l) => ({ at: l.at, text: l.text, y: 4 + l.row * LABEL_ROW_PX })),
    },
    mark: {
      type: "text",
      align,
      baseline: "top",
      dx: align === "left" ? 4 : -4,
      fontSize: LABEL_FONT_SIZE,
      color: halo ? "white" : "#1b2631",
      ...(halo ? { stroke: "white", strokeWidth: 3, strokeOpacity: 0.85 } : {}),
    },
    encoding: {
      x: { field: "at", type: "temporal" },
      y: { field: "y", type: "quantitative", scale: null },
      text: { field: "text", type: "nominal" },
    },
  };
}

/**
 * The incident as a vega-lite chart: failing requests per minute (502 and 504 stacked) over the incident,
 * kills, crashes, exits, restarts and reloads as labelled rules, the alert's firing to resolution shaded.
 * Times are drawn on the team's wall clock (each moment shifted by the zone's offset and drawn as UTC).
 */
export function chartSpec(s: Summary): TopLevelSpec {
  const zone = s.zone;
  const wall = (t: string | number) => wallClock(t, zone);
  const failing = s.impact.perMinute.filter((r) => r.status502 + r.status504 > 0);
  const events = markedEvents(s.timeline).map((e) => ({
    at: wall(e.at),
    kind: e.kind,
    ...(e.host ? { host: e.host } : {}),
  }));
  const moments = [
    ...failing.flatMap((r) => [ms(r.minute), addMinutes(r.minute, 1)]),
    ...s.timeline.filter((e) => e.actor === "machine").map((e) => ms(e.at)),
    ...s.alert.intervals.flatMap((i) => [ms(i.start), ...(i.end ? [ms(i.end)] : [])]),
    ...(s.span.start ? [ms(s.span.start.at)] : []),
    ...(s.span.end ? [ms(s.span.end.at)] : []),
  ];
  if (moments.length === 0) moments.push(ms(s.incident.openedAt));
  const first = startOfMinute(Math.min(...moments));
  const last = startOfMinute(Math.max(...moments));
  const pad = Math.max(1, Math.round(dayjsMinutes(between(first, last)) / 10));
  const domain: [number, number] = [wall(addMinutes(first, -pad)), wall(addMinutes(last, pad + 1))];
  const bars = failing.flatMap((r) =>
    (
      [
        ["502", r.status502],
        ["504", r.status504],
      ] as const
    )
      .filter(([, n]) => n > 0)
      .map(([status, count]) => ({
        start: wall(r.minute),
        end: wall(addMinutes(r.minute, 1)),
        status,
        count,
      })),
  );
  const peak = Math.max(1, ...failing.map((r) => r.status502 + r.status504));
  const marks = labels(events, domain);
  const rows = marks.length ? Math.max(...marks.map((l) => l.row)) + 1 : 0;
  // Head room above the tallest bar for the label rows.
  const yMax = Math.ceil((peak * PLOT_HEIGHT) / Math.max(1, PLOT_HEIGHT - rows * LABEL_ROW_PX - 12));
  const has504 = failing.some((r) => r.status504 > 0);
  const alerts = s.alert.intervals.map((i) => ({
    start: wall(i.start),
    end: wall(i.end ?? addMinutes(last, pad + 1)),
  }));
  const date = dateIn(s.span.start?.at ?? s.incident.openedAt, zone);
  const service = oneLine(s.incident.service).slice(0, 60);
  const x = {
    type: "temporal" as const,
    scale: { type: "utc" as const, domainMin: domain[0], domainMax: domain[1] },
    // The values are the team's wall clock written as UTC: read them back as UTC, 24-hour.
    axis: { labelExpr: "utcFormat(datum.value, '%H:%M')", labelAngle: 0, tickCount: 8, grid: false },
  };
  const firstAlert = s.alert.intervals[0];
  const alertWords = firstAlert
    ? `alert firing ${clock(firstAlert.start, zone)} → ${firstAlert.end ? clock(firstAlert.end, zone) : "still firing"}${s.alert.intervals.length > 1 ? ` and ${s.alert.intervals.length - 1} more` : ""} (shaded)`
    : "no alert";
  const lines = [...new Set(events.filter((e) => e.kind !== "restart").map((e) => PLURAL[e.kind] ?? e.kind))];
  const notes = [
    `times in ${zoneLabel(s)}`,
    alertWords,
    s.impact.measured ? (s.impact.complete ? "" : "counts incomplete") : "no access-log counts",
    lines.length ? `lines: ${lines.join(", ")}` : "",
    events.some((e) => e.kind === "restart") ? "▲ restarts" : "",
  ].filter((t) => t !== "");
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `${service}: ${has504 ? "502s and 504s" : "502s"} per minute, ${date}`,
      subtitle: wrap(notes, SUBTITLE_CHARS),
      anchor: "start",
    },
    width: PLOT_WIDTH,
    height: PLOT_HEIGHT,
    background: "white",
    padding: 16,
    config: {
      font: CHART_FONT,
      view: { stroke: "#d5d8dc" },
      title: { font: CHART_FONT, fontSize: 16, subtitleFontSize: 12, subtitleColor: "#555", offset: 10 },
      axis: { labelFont: CHART_FONT, titleFont: CHART_FONT, labelFontSize: 11, titleFontSize: 12 },
      legend: { labelFont: CHART_FONT, titleFont: CHART_FONT, labelFontSize: 11 },
      text: { font: CHART_FONT },
    },
    layer: [
      {
        data: { values: alerts },
        mark: { type: "rect", color: COLOURS.alert, opacity: 0.22 },
        // The one place the shared time scale and its axis are set: every other layer only names its field.
        encoding: { x: { field: "start", ...x, title: `time in ${zoneLabel(s)}` }, x2: { field: "end" } },
      },
      {
        data: { values: bars },
        mark: { type: "rect", stroke: "white", strokeWidth: 1 },
        encoding: {
          x: { field: "start", type: "temporal" },
          x2: { field: "end" },
          y: {
            field: "count",
            type: "quantitative",
            stack: "zero",
            title: "failing requests per minute",
            scale: { domain: [0, yMax], nice: false },
            axis: { tickMinStep: 1, format: "d" },
          },
          color: {
            field: "status",
            type: "nominal",
            scale: {
              domain: has504 ? ["502", "504"] : ["502"],
              range: has504 ? [COLOURS[502], COLOURS[504]] : [COLOURS[502]],
            },
            legend: { title: "status", orient: "right" },
          },
        },
      },
      rules(
        events.filter((e) => e.kind !== "restart" && e.kind !== "nginx_reload"),
        COLOURS.death,
      ),
      rules(
        events.filter((e) => e.kind === "nginx_reload"),
        COLOURS.reload,
        [6, 3],
      ),
      {
        data: { values: events.filter((e) => e.kind === "restart") },
        mark: {
          type: "point",
          shape: "triangle-up",
          filled: true,
          size: 70,
          color: COLOURS.restart,
          opacity: 1,
          stroke: "white",
          strokeWidth: 0.8,
        },
        encoding: { x: { field: "at", type: "temporal" }, y: { value: PLOT_HEIGHT - 6 } },
      },
      // Each label twice: a white halo first, so that a line crossing it does not cut through the letters.
      ...(["left", "right"] as const).flatMap((align) => [
        labelLayer(marks, align, true),
        labelLayer(marks, align, false),
      ]),
    ],
  };
  return spec;
}

/** The chart as SVG, rendered headless by vega (no canvas: text widths are estimated). */
export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec);
  const view = new View(parse(compiled.spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface RenderOptions {
  /** Font files to draw text with (no system fonts are read): DejaVu Sans at least. */
  fontFiles: string[];
  /** Width of the PNG in pixels; the height follows the chart's proportions. Default 1400. */
  width?: number;
}

/** The chart as a PNG: vega-lite compiled, drawn to SVG by vega, rasterised by resvg with the given fonts. */
export async function renderChartPng(spec: TopLevelSpec, opts: RenderOptions): Promise<Buffer> {
  const svg = await chartSvg(spec);
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: opts.fontFiles, defaultFontFamily: CHART_FONT },
    fitTo: { mode: "width", value: opts.width ?? 1400 },
    background: "white",
  });
  return resvg.render().asPng();
}
