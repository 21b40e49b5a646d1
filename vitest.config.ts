import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/lab/**", "node_modules/**"],
    typecheck: { enabled: false },
    // Generous: some tests generate large files or run real processes; speed is measured by npm run bench.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
