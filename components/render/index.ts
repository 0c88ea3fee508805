export * from "./hash";
export * from "./hostlist";
export * from "./slurm";
export * from "./alerts";
export * from "./monitoring";
export * from "./grafana";
export * from "./dashboards";
