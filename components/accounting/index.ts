export * from "./accounting";
export * from "./sacctmgr";
