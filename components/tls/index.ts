export * from "./certificates";
export * from "./install";
