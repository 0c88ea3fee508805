export * from "./cluster";
export * from "./preflight";
export * from "./manifest";
export * from "./claim";
