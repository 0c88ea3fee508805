export * from "./role-image";
