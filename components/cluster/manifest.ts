import * as pulumi from "@pulumi/pulumi";
import { ACCOUNTING_DATABASE, applicationRoles, ClusterSpec, CONTROLLER_HOST, dockerNames, StackConfig } from "../config";
import { EngineRecord } from "../docker";
import { contentHash } from "../render";
import type { CertificatesRecord } from "../tls";

/** Non-secret facts about a deployed cluster: the stack's `manifest` output. */
export interface ClusterManifest {
  cluster: string;
  controller: { hostname: string; container: string };
  computeNodes: { name: string; group: string; container: string }[];
  partitions: string[];
  slurmVersion: string;
  mungeKey: { fingerprint: string; epoch: number };
  configHashes: Record<string, string>;
  image: string;
  postgres?: { container: string; databases: string[]; backup: { intervalMin: number; retain: number }; passwordEpochs: Record<string, number>; pitrKeyEpoch?: number };
  monitoring?: { prometheus: string; alertmanager: string; grafana?: string; scrapedNodes: number; alertRulesHash: string; webPasswordEpoch?: number };
  accounting?: { slurmdbd: string; mariadb: string; database: string; passwordEpoch: number; backup: { intervalMin: number; retain: number } };
  /**
   * The engine of each of the cluster's containers, by container name: the workstation it is
   * on (with hyperscaler:workstations) and its Docker host URL (none: DOCKER_HOST's engine).
   * Scripts that `docker exec` into a container ask this engine.
   */
  engines: Record<string, EngineRecord>;
  /** The label of the cluster's claim volumes: the stack's identity when it first claimed the name (it stays when the stack moves to another backend). */
  claim: string;
  /** The stack's CA certificate and its certificates' expiry (several workstations): the next update renews from it. */
  tls?: CertificatesRecord;
}

/** What the manifest is made from: the config, the spec, and the deployed parts' outputs. */
export interface ManifestParts {
  readonly controller: pulumi.Input<string>;
  readonly slurmVersion: pulumi.Input<string>;
  readonly mungeFingerprint: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  readonly files: readonly { path: string; content: string }[];
  readonly postgres?: pulumi.Input<string>;
  readonly monitoring?: { prometheus: pulumi.Input<string>; alertmanager: pulumi.Input<string>; grafana?: pulumi.Input<string>; scrapedNodes: number; alertRulesHash: string };
  readonly accounting?: { slurmdbd: string; mariadb: pulumi.Input<string> };
  /** Each container's engine: the platform's for every container not listed in `nodeEngines`. */
  readonly platformEngine: EngineRecord;
  readonly nodeEngines: Record<string, EngineRecord>;
  /** The stack's claim (HyperscalerClusterArgs.stack). */
  readonly stack: string;
  readonly tls?: pulumi.Input<CertificatesRecord>;
}

export function clusterManifest(config: StackConfig, spec: ClusterSpec, parts: ManifestParts): pulumi.Output<ClusterManifest> {
  const names = dockerNames(spec.clusterName);
  const roles = applicationRoles(config);
  const m = parts.monitoring;
  return pulumi.all([parts.controller, parts.slurmVersion, parts.mungeFingerprint, parts.image, parts.postgres,
    m?.prometheus, m?.alertmanager, pulumi.all([m?.grafana, parts.accounting?.mariadb, parts.tls])]).apply(
    ([ctl, slurmVersion, fingerprint, imageId, pgContainer, prom, am, [grafana, mariadb, tls]]): ClusterManifest => ({
      cluster: spec.clusterName,
      controller: { hostname: CONTROLLER_HOST, container: ctl },
      computeNodes: spec.nodes.map((n) => ({ name: n.name, group: n.group, container: names.container(n.name) })),
      partitions: spec.partitions.map((p) => p.name),
      slurmVersion: slurmVersion.trim(),
      mungeKey: { fingerprint, epoch: config.rotation.mungeKeyEpoch },
      configHashes: Object.fromEntries(parts.files.map((f) => [f.path.replace("/etc/slurm/", ""), contentHash(f.content)])),
      image: imageId,
      ...(config.postgres && pgContainer ? { postgres: {
        container: pgContainer,
        databases: Object.values(roles).map((r) => r.database).sort(),
        backup: config.postgres.backup,
        passwordEpochs: Object.fromEntries(["postgres", ...Object.keys(roles).sort()]
          .map((r) => [r, config.rotation.postgresPasswordEpochs[r] ?? 0])),
        pitrKeyEpoch: config.rotation.pitrKeyEpoch,
      } } : {}),
      ...(m && prom && am ? { monitoring: {
        prometheus: prom, alertmanager: am, ...(grafana ? { grafana } : {}), scrapedNodes: m.scrapedNodes, alertRulesHash: m.alertRulesHash,
        ...(tls ? { webPasswordEpoch: config.rotation.prometheusPasswordEpoch } : {}),
      } } : {}),
      engines: Object.fromEntries([
        ...[ctl, pgContainer, prom, am, grafana, mariadb, parts.accounting?.slurmdbd]
          .filter((c): c is string => !!c).map((c) => [c, parts.platformEngine]),
        ...Object.entries(parts.nodeEngines),
      ].sort(([a], [b]) => (a < b ? -1 : 1))),
      claim: parts.stack,
      ...(tls ? { tls } : {}),
      ...(config.accounting && parts.accounting && mariadb ? { accounting: {
        slurmdbd: parts.accounting.slurmdbd, mariadb, database: ACCOUNTING_DATABASE,
        passwordEpoch: config.rotation.accountingPasswordEpoch,
        backup: { intervalMin: config.accounting.backup.intervalMin, retain: config.accounting.backup.retain },
      } } : {}),
    }));
}
