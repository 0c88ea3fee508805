export * from "./slurm-image";
