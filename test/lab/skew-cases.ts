import type { ScenarioName } from "./lab-info.js";
import type { LabSkew } from "./skew.js";

/** The lab's skewed-clock cases: recorded as playbook cases (record-skew.ts) and run over SSH (skew.test.ts). */
export const SKEWED_CASES: { name: string; scenario: ScenarioName; skew: LabSkew }[] = [
  { name: "lab-oom-gateway-fast", scenario: "oom", skew: { host: "gateway", seconds: 600 } },
  { name: "lab-oom-gateway-slow", scenario: "oom", skew: { host: "gateway", seconds: -600 } },
  { name: "lab-oom-backend-fast", scenario: "oom", skew: { host: "checkout-1", seconds: 600 } },
  { name: "lab-oom-backend-slow", scenario: "oom", skew: { host: "checkout-1", seconds: -600 } },
];
