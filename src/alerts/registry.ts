import { alertmanager } from "./alertmanager.js";
import { generic } from "./generic.js";
import { grafana } from "./grafana.js";
import type { AlertSource, AlertSourceModule } from "./types.js";

/** Every webhook source, by the path it is served at (/hooks/<source>). A source not listed fails to compile. */
export const sources = { alertmanager, grafana, generic } satisfies Record<AlertSource, AlertSourceModule>;

export function isSource(name: string): name is AlertSource {
  return Object.hasOwn(sources, name);
}
