import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests that start the built CLI must not run against a dist/ older than src/ (see the file).
    globalSetup: ['test/support/dist-fresh.ts'],
  },
});
