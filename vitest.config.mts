import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Engine and Docker tests drive real processes; one file at a time keeps 2 cores usable.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // One line per test as it ends: a CI log that stops shows the last test that finished.
    // Then a digest of the failures, which a log read from its end still shows.
    reporters: ["verbose", "./tests/support/failure-digest.ts"],
    // An interrupted run (Ctrl-C, a CI timeout) still removes what its tests made.
    globalSetup: ["tests/support/interrupt-cleanup.ts"],
  },
});
