// Root hooks: every test file runs on the backend geoclr selects (wasm here; GEOCLR_BACKEND overrides).
import { initBackend } from '../../src/backend.js';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const info = await initBackend();
    if (!process.env.GEOCLR_QUIET) console.log(`  [geoclr tests on backend: ${info.choice}]`);
  },
};
