import { defineConfig } from "vitest/config";

// The lab binds fixed loopback ports and creates fixed cgroup names: one test at a time, one file at a time.
export default defineConfig({
  test: {
    include: ["test/lab/**/*.test.ts", "test/ssh/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    typecheck: { enabled: false },
  },
});
