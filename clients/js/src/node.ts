/** Node-only entry: everything in the main entry plus files, resume state and signing keys. */
export * from "./index.js";
export * from "./resume.js";
export * from "./node/files.js";
export * from "./node/profile.js";
export * from "./node/signing.js";
export * from "./node/transfer.js";
