export * from "./container";
export * from "./exec";
