export * from "./preview";
export * from "./audit";
