export * from "./workstation-node";
