import { parseArgs, ParseArgsConfig } from "node:util";

/**
 * The command line of a project script: `--help` prints the usage and exits 0 (the runbook
 * test checks every flag the guides use against it); an unknown or malformed flag prints
 * what is wrong and the usage, and exits 64.
 */
export function cliArgs<O extends NonNullable<ParseArgsConfig["options"]>>(usage: string, options: O) {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: "boolean" } }, strict: true }) as { values: Record<string, unknown> };
    if (values.help) {
      console.log(`usage: ${usage}`);
      process.exit(0);
    }
    return values as ReturnType<typeof parseArgs<{ options: O }>>["values"];
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: ${usage}`);
    process.exit(64);
  }
}
