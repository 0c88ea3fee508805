export * from "./schema";
export * from "./load";
export * from "./spec";
export * from "./accounting";
export * from "./workstations";
export * from "./names";
