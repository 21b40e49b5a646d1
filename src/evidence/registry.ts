import { accessAggregateParser } from "./access-aggregate.js";
import { appParser } from "./app.js";
import { dockerParser } from "./docker/docker.js";
import { kernelParser } from "./kernel.js";
import { nginxAccessParser } from "./nginx-access.js";
import { nginxConfParser } from "./nginx-conf.js";
import { nginxErrorParser } from "./nginx-error.js";
import { pm2Parser } from "./pm2/pm2.js";
import { psParser } from "./ps.js";
import { ssParser } from "./ss.js";
import { supervisordParser } from "./supervisord/supervisord.js";
import { systemdParser } from "./systemd.js";
import type { EvidenceKind, Parser, RecordBase } from "./types.js";

/** One parser per kind. A kind without a parser here fails to compile. */
export const parsers = {
  "nginx-error": nginxErrorParser,
  "nginx-access": nginxAccessParser,
  "nginx-conf": nginxConfParser,
  ps: psParser,
  systemd: systemdParser,
  kernel: kernelParser,
  app: appParser,
  ss: ssParser,
  supervisord: supervisordParser,
  pm2: pm2Parser,
  docker: dockerParser,
  "nginx-access-aggregate": accessAggregateParser,
} satisfies Record<EvidenceKind, Parser<RecordBase>>;

export type Parsers = typeof parsers;
/** The record type a kind's parser produces. */
export type RecordOf<K extends EvidenceKind> = Parsers[K] extends Parser<infer R> ? R : never;
