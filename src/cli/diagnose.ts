import { parseArgs } from "node:util";
import { loadBundle } from "../bundle/load.js";
import { diagnoseBundle } from "../diagnosis/diagnose.js";
import { UserError } from "../errors.js";
import { loadPlaybook } from "../playbook/loader.js";
import { defaultPlaybookPath, type Io, wantsColor } from "./io.js";
import { outputFormat, renderAs } from "./render.js";

export const diagnoseHelp = `Usage: why502 diagnose <service> --bundle FILE [options]

Diagnoses why nginx answers 502 for <service> from a bundle of collected evidence.

Options:
  --bundle FILE       replay a saved bundle (see docs/bundle.md)
  --json              print the diagnosis as JSON (same as --format json)
  --format FORMAT     text (default), json, markdown or blocks (Slack Block Kit)
  --trace             show each question the playbook asked, the value seen and the evidence
  --playbook FILE     use another playbook (default: the built-in playbooks/why502.yaml)
`;

export async function runDiagnose(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bundle: { type: "string" },
      json: { type: "boolean" },
      format: { type: "string" },
      trace: { type: "boolean" },
      playbook: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(diagnoseHelp);
    return 0;
  }
  const service = positionals[0];
  if (!service) throw new UserError("usage", "diagnose needs a service name, e.g. `why502 diagnose checkout --bundle checkout.json`.");
  const format = outputFormat(values.json, values.format);
  if (!values.bundle) {
    throw new UserError("usage", "diagnose needs --bundle FILE: live collection over SSH is not available in this build.", "Replay a saved bundle with --bundle, e.g. one from playbooks/cases/.");
  }
  const playbook = loadPlaybook(values.playbook ?? defaultPlaybookPath());
  const bundle = loadBundle(values.bundle);
  if (bundle.service !== service) {
    throw new UserError("usage", `Bundle ${values.bundle} holds service "${bundle.service}", not "${service}": pass the service it was collected for.`);
  }
  const diagnosis = diagnoseBundle(bundle, playbook);
  io.stdout.write(renderAs(diagnosis, format, { color: wantsColor(io), trace: values.trace ?? false }));
  return 0;
}
