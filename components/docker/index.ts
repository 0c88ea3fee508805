export * from "./cli";
export * from "./container";
export * from "./exec";
export * from "./image";
export * from "./named";
