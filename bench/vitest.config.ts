import { defineConfig } from "vitest/config";

// Benchmarks print numbers; they are not part of `npm test` (tests/ only).
export default defineConfig({
  test: {
    include: ["bench/**/*.bench.ts"],
    fileParallelism: false,
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    reporters: ["verbose"],
  },
});
