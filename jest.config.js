// Two projects: `unit` is pure code; `swtpm` starts real swtpm/tpm2-tools and real plugin executables.
const base = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'swtpm', testMatch: ['<rootDir>/test/swtpm/**/*.test.ts'], testTimeout: 120000 },
    { ...base, displayName: 'plugin', testMatch: ['<rootDir>/test/plugin/**/*.test.ts'], testTimeout: 120000 },
  ],
};
