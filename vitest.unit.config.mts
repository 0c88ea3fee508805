import { defineConfig } from "vitest/config";

// `npm run test:unit`: the tests that need no Docker engine, no Pulumi engine and no image
// (config rules, renderers, components under Pulumi's mocks, the preview report's reading,
// docs restating code): the inner loop, in well under a minute. `npm test` runs these too.
export default defineConfig({
  test: {
    include: [
      "tests/config/*.test.ts",
      "tests/components/*.test.ts",
      "tests/render/hostlist.test.ts",
      "tests/render/render.test.ts",
      "tests/render/report.test.ts",
      "tests/render/image-commands.test.ts",
      "tests/docs/alerts-table.test.ts",
      "tests/scripts/*.test.ts",
    ],
    testTimeout: 60_000,
  },
});
