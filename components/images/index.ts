export * from "./role-image";
export * from "./image-copy";
