export * from "./role-image";
export * from "./image-copy";
export * from "./commands";
export * from "./context";
