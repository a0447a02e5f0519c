import { defineConfig } from "tsup";

// One build, two formats: ESM (dist/*.js) and CJS (dist/*.cjs), each with its declarations.
export default defineConfig({
  entry: { index: "src/index.ts", node: "src/node.ts" },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  outDir: "dist",
});
