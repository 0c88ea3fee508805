import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig } from "../components/config";

let config;
try {
  config = parseStackConfig(pulumi.runtime.allConfig());
} catch (e) {
  // RunError: Pulumi prints the message alone, without a stack trace.
  if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
  throw e;
}

if (config.requireRealPassphrase) {
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  const usesFile = !!process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (!usesFile && (!passphrase || passphrase === process.env.HYPERSCALER_DEV_PASSPHRASE)) {
    throw new pulumi.RunError(
      `stack '${pulumi.getStack()}' requires its own secrets passphrase (hyperscaler:requireRealPassphrase is true), ` +
        "but the dev default from scripts/env.sh is in use: export PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first.",
    );
  }
}

/** Non-secret facts about the deployment, for people, CI and the audit report. */
export const manifest = {
  cluster: config.clusterName,
  baseImage: config.baseImage,
  protect: config.protect,
};
