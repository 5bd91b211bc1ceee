// Two projects: `unit` is pure code; `swtpm` starts real swtpm/tpm2-tools and real plugin executables.
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
