import { defineConfig } from "vite";

// Built into the gateway package (gateway/console_assets, not committed): the gateway serves it
// at /_artifacts/ui/ (gateway/api/console.py). No plugin: Vite's own transform (oxc) compiles Preact's JSX.
export default defineConfig({
  base: "/_artifacts/ui/",
  build: {
    outDir: "../gateway/console_assets",
    emptyOutDir: true,
    assetsDir: "assets",
    // No inline script or style: the gateway's Content Security Policy allows neither.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
});
