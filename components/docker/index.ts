export * from "./cli";
export * from "./container";
export * from "./exec";
export * from "./backups";
export * from "./engine";
