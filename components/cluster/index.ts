export * from "./cluster";
export * from "./preflight";
