import * as pulumi from "@pulumi/pulumi";
import type { Engine } from "./engine";
import { containerCommand } from "./exec";
import { CMD } from "../images/commands";

export interface ScheduledBackupsArgs {
  /** The database server's container, by name, and its ID (a re-created one gets the schedule again). */
  readonly container: pulumi.Output<string>;
  readonly containerId: pulumi.Output<string>;
  /** Databases backed up each round. */
  readonly databases: readonly string[];
  readonly backup: { readonly intervalMin: number; readonly retain: number; readonly beforeReplace: boolean };
  /** The image's backup command: `<command> DATABASE RETAIN` takes one verified backup. */
  readonly command: string;
  /** What must be in place before a last backup can run (the server's logins). */
  readonly after: pulumi.Resource[];
  readonly engine?: Engine;
}

/**
 * A database image's backup schedule (read by its hyperscaler-backup-loop every round)
 * and, when asked, a verified backup of every database before the server's container is
 * replaced or removed.
 */
export function scheduledBackups(name: string, args: ScheduledBackupsArgs, opts: pulumi.CustomResourceOptions): void {
  const { databases, backup, engine } = args;
  const triggers = [args.containerId];
  containerCommand(`${name}-backup-schedule`, {
    container: args.container,
    create: [CMD.install, "/etc/hyperscaler/backup.conf", "0644", "root:root"],
    stdin: `INTERVAL_MIN=${backup.intervalMin}\nRETAIN=${backup.retain}\nDATABASES="${databases.join(" ")}"\n`,
    triggers,
    engine,
  }, opts);
  if (backup.beforeReplace && databases.length > 0) {
    // Deleted (so run) before the container it depends on is replaced or removed: the
    // last state of every database is backed up and verified first.
    containerCommand(`${name}-backup-before-replace`, {
      // By ID, not name: after a disaster the name belongs to a new, empty server, whose
      // "backup" would rotate good ones out. A container that is gone counts as done.
      container: args.containerId,
      create: ["test", "-w", "/backups"],
      delete: ["sh", "-c", databases.map((db) => `${args.command} ${db} ${backup.retain}`).join(" && ")],
      triggers,
      engine,
    }, { ...opts, deleteBeforeReplace: true, dependsOn: args.after });
  }
}
