import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // test/lab and test/ssh need root, nginx and sshd: they run with `npm run test:lab`.
    exclude: ["test/lab/**", "test/ssh/**", "node_modules/**"],
    typecheck: { enabled: false },
    // Generous: some tests generate large files or run real processes; speed is measured by npm run bench.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
