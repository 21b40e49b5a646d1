import { accessAggregateParser } from "./access-aggregate.js";
import { appParser } from "./app.js";
import { appFragments } from "./app-fragment.js";
import { dockerParser } from "./docker/docker.js";
import { withFragments } from "./fragment.js";
import { kernelParser } from "./kernel.js";
import { kernelFragments } from "./kernel-fragment.js";
import { nginxAccessParser } from "./nginx-access.js";
import { nginxAccessFragments } from "./nginx-access-fragment.js";
import { nginxConfParser } from "./nginx-conf.js";
import { nginxErrorParser } from "./nginx-error.js";
import { nginxErrorFragments } from "./nginx-error-fragment.js";
import { pm2Fragments } from "./pm2/fragment.js";
import { pm2Parser } from "./pm2/pm2.js";
import { psParser } from "./ps.js";
import { ssParser } from "./ss.js";
import { supervisordFragments } from "./supervisord/fragment.js";
import { supervisordParser } from "./supervisord/supervisord.js";
import { systemdParser } from "./systemd.js";
import { systemdFragments } from "./systemd-fragment.js";
import type { EvidenceKind, Parser, RecordBase } from "./types.js";

/**
 * One parser per kind. A kind without a parser here fails to compile. Line-log kinds read fragments of
 * lines too (cut, wrapped, without their head, behind a runtime's prefix): their whole-line parser,
 * `withFragments` of what the kind knows about its fragments.
 */
export const parsers = {
  "nginx-error": withFragments(nginxErrorParser, nginxErrorFragments),
  "nginx-access": withFragments(nginxAccessParser, nginxAccessFragments),
  "nginx-conf": nginxConfParser,
  ps: psParser,
  systemd: withFragments(systemdParser, systemdFragments),
  kernel: withFragments(kernelParser, kernelFragments),
  app: withFragments(appParser, appFragments),
  ss: ssParser,
  supervisord: withFragments(supervisordParser, supervisordFragments),
  pm2: withFragments(pm2Parser, pm2Fragments),
  docker: dockerParser,
  "nginx-access-aggregate": accessAggregateParser,
} satisfies Record<EvidenceKind, Parser<RecordBase>>;

export type Parsers = typeof parsers;
/** The record type a kind's parser produces. */
export type RecordOf<K extends EvidenceKind> = Parsers[K] extends Parser<infer R> ? R : never;
