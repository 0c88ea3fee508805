import * as pulumi from "@pulumi/pulumi";
import { HyperscalerCluster } from "../components/cluster";
import { ConfigError, parseStackConfig, StackConfig } from "../components/config";
import { baseImageProblem } from "../components/images";

/** Stops the program before any resource is registered; Pulumi prints the message alone. */
function refuse(message: string): never {
  throw new pulumi.RunError(message);
}

function loadConfig(): StackConfig {
  try {
    return parseStackConfig(pulumi.runtime.allConfig());
  } catch (e) {
    if (e instanceof ConfigError) refuse(e.message);
    throw e;
  }
}

const config = loadConfig();

if (config.requireRealPassphrase) {
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  const usesFile = !!process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (!usesFile && (!passphrase || passphrase === process.env.HYPERSCALER_DEV_PASSPHRASE)) {
    refuse(
      `stack '${pulumi.getStack()}' requires its own secrets passphrase (hyperscaler:requireRealPassphrase is true), ` +
        "but the dev default from scripts/env.sh is in use: export PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first.",
    );
  }
}

const imageProblem = baseImageProblem(config.baseImage);
if (imageProblem) refuse(imageProblem);

const cluster = new HyperscalerCluster(config.clusterName, { config });

/** Non-secret facts about the deployment, for people, CI and the audit report. */
export const manifest = cluster.manifest;
