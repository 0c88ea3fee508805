export * from "./hash";
export * from "./hostlist";
export * from "./slurm";
