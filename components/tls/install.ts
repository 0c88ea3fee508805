import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { containerCommand, Engine } from "../docker";
import { CMD } from "../images";
import { TLS_DIR } from "../render";

/** A database server's TLS: what it installs, and after what. */
export interface DatabaseTls {
  /** Its certificate and key, then the CAs to trust (PEM); secret. */
  readonly bundle: pulumi.Input<string>;
  /** What must trust a new CA before the server presents a certificate of it (its clients' CA installs). @default [] */
  readonly after?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/**
 * Installs a database server's certificate (checked, atomically) and has the running server
 * read it again: a renewal restarts nothing and drops no connection. On a new container the
 * entrypoint waits for it before the server starts.
 */
export function installDatabaseTls(name: string, args: { container: pulumi.Input<string>; containerId: pulumi.Input<string>; owner: string; tls: DatabaseTls; engine?: Engine },
  opts: pulumi.CustomResourceOptions): command.local.Command {
  return containerCommand(`${name}-tls`, {
    container: args.container,
    create: ["sh", "-c", `${CMD.tlsInstall} ${TLS_DIR} ${args.owner} && ${CMD.tlsReload}`],
    stdin: args.tls.bundle,
    triggers: [args.containerId],
    engine: args.engine,
  }, { ...opts, dependsOn: args.tls.after ?? [] });
}
