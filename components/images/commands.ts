import type { ImageRole } from "./context";

/**
 * The commands the role images provide (each image's Dockerfile installs them in
 * /usr/local/sbin) that components and scripts run in the containers: one name each, and
 * the images that must have it. tests/render/image-commands.test.ts holds every Dockerfile to it.
 */
export const IMAGE_COMMANDS = {
  /** Installs stdin as a file (path, mode, owner), atomically. */
  install: { name: "hyperscaler-install", images: ["slurm", "postgres", "mariadb", "monitoring", "backup-repository", "dashboards"] },
  lanHosts: { name: "hyperscaler-lan-hosts", images: ["slurm"] },
  mungeRestart: { name: "hyperscaler-munge-restart", images: ["slurm"] },
  dbdRestart: { name: "hyperscaler-dbd-restart", images: ["slurm"] },
  reconfigure: { name: "hyperscaler-reconfigure", images: ["slurm"] },
  scheduling: { name: "hyperscaler-scheduling", images: ["slurm"] },
  validate: { name: "hyperscaler-validate", images: ["slurm"] },
  nodeRemove: { name: "hyperscaler-node-remove", images: ["slurm"] },
  /** Sets where slurmctld reaches this compute node (the entrypoint's, and platform-restore's). */
  nodeAddress: { name: "hyperscaler-node-address", images: ["slurm"] },
  reload: { name: "hyperscaler-reload", images: ["monitoring"] },
  /** Checks a Perses resource against the server's schemas, provisions it, waits until it is served; `--remove` takes it away. */
  dashboardsProvision: { name: "hyperscaler-dashboards-provision", images: ["dashboards"] },
  waitTargets: { name: "hyperscaler-wait-targets", images: ["monitoring"] },
  /** Asks the container's Prometheus (TLS and its login where it has them). */
  prometheusApi: { name: "hyperscaler-prometheus-api", images: ["monitoring"] },
  /** Installs a certificate, its key and the CAs to trust from stdin, checked, atomically. */
  tlsInstall: { name: "hyperscaler-tls-install", images: ["slurm", "monitoring", "postgres", "mariadb"] },
  /** The database server reads its certificate again, if it runs (no restart). */
  tlsReload: { name: "hyperscaler-tls-reload", images: ["postgres", "mariadb"] },
  pgSetPassword: { name: "hyperscaler-pg-set-password", images: ["postgres"] },
  pgBackup: { name: "hyperscaler-pg-backup", images: ["postgres"] },
  /** Continuous archiving and point-in-time restore (pgBackRest). */
  pgPitr: { name: "hyperscaler-pg-pitr", images: ["postgres"] },
  pgLogin: { name: "hyperscaler-pg-login", images: ["postgres"] },
  mariadbSetPassword: { name: "hyperscaler-mariadb-set-password", images: ["mariadb"] },
  mariadbBackup: { name: "hyperscaler-mariadb-backup", images: ["mariadb"] },
  /** Removes a backup repository's directories the stack no longer has a key for. */
  repositoryPrune: { name: "hyperscaler-repository-prune", images: ["backup-repository"] },
  /** Copies the file backups to the backup repository (restic), lists and restores them. */
  backupShip: { name: "hyperscaler-backup-ship", images: ["backup-repository"] },
} as const satisfies Record<string, { name: `hyperscaler-${string}`; images: readonly ImageRole[] }>;

/** A command's name, by its key: `CMD.validate` is "hyperscaler-validate". */
export const CMD = Object.fromEntries(Object.entries(IMAGE_COMMANDS).map(([k, c]) => [k, c.name])) as
  { readonly [K in keyof typeof IMAGE_COMMANDS]: (typeof IMAGE_COMMANDS)[K]["name"] };
