// Three projects: `unit` is pure code (test/unit mirrors the source tree); `swtpm` starts real swtpm and
// tpm2-tools; `plugin` drives the built plugin executables (dist/) over real go-plugin gRPC, most with a swtpm.
const base = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
};
module.exports = {
  // testTimeout is a global option in Jest 30 (ignored per project): swtpm and plugin tests start real processes.
  testTimeout: 120000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'swtpm', testMatch: ['<rootDir>/test/swtpm/**/*.test.ts'] },
    { ...base, displayName: 'plugin', testMatch: ['<rootDir>/test/plugin/**/*.test.ts'] },
  ],
};
