export * from "./bytes";
