/**
 * The SDK contract (clients/contract/scenarios), one test per scenario file, against the live
 * stack described by the environment (see clients/contract/README.md).
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadScenario, runScenario } from "./contract/scenario.js";

const contract = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "contract");
const scenarios = process.env.CONTRACT_SCENARIOS ?? join(contract, "scenarios");
const only = (process.env.CONTRACT_ONLY ?? "").split(",").filter((name) => name !== "");

const files = readdirSync(scenarios)
  .filter((file) => file.endsWith(".yaml") || file.endsWith(".yml"))
  .sort()
  .filter((file) => only.length === 0 || only.includes(file.replace(/\.ya?ml$/, "")));

for (const file of files) {
  const stem = file.replace(/\.ya?ml$/, "");
  test(stem, async () => {
    const scenario = await loadScenario(join(scenarios, file), join(contract, "schema.json"));
    if (scenario.name !== stem) throw new Error(`${file}: name is ${scenario.name}, not ${stem}`);
    await runScenario(scenario, process.env);
  });
}
