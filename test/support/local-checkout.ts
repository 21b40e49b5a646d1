import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";

/** The config of a service `checkout` whose gateway `gw` and one backend `be1` (port 9000) are this machine. */
export function localCheckoutConfig(errorLog: string, accessLog: string) {
  return parseConfig(
    stringify({
      hosts: { gw: { local: true }, be1: { local: true } },
      services: {
        checkout: {
          gateways: [{ host: "gw", error_log: errorLog, access_log: accessLog }],
          backends: { port: 9000, instances: [{ host: "be1" }] },
        },
      },
    }),
    "why502.yaml",
  );
}
