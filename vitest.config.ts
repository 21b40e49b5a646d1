import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/lab/**", "node_modules/**"],
    typecheck: { enabled: false },
  },
});
