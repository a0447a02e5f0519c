/** Browser-safe entry: the store, login, errors and pure helpers. Files and keys: "./node". */
export * from "./auth.js";
export * from "./client.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./sizes.js";
export type { components, paths } from "./generated/api.js";
