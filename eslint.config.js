// ESLint (flat config): typescript-eslint's recommended rules, plus the import boundaries between the
// top-level folders. Formatting is Prettier's job (.prettierrc.json); nothing here checks layout.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const globals = require('globals');
const { defineConfig, globalIgnores } = require('eslint/config');

// Arrows point down (docs/README.md, "Layout"): each source folder may import these folders, and only through
// their index (`../tpm`, never `../tpm/verify/quote`). A folder missing from a list is forbidden outright.
// plugin-sdk is the go-plugin/SPIRE plumbing over the generated service code, so it alone reaches into
// proto/gen; everyone else takes proto/ through its index.
const BOUNDARIES = {
  cli: ['tpm', 'verifier-client'],
  'plugin-agent': ['plugin-sdk', 'tpm', 'verifier-client', 'proto'],
  'plugin-server': ['plugin-sdk', 'tpm', 'verifier-client', 'proto'],
  'verifier-client': ['tpm'],
  'plugin-sdk': ['proto'],
  proto: ['tpm'],
  tpm: [],
};
const DEEP_ALLOWED = { 'plugin-sdk': ['proto'] };
const FOLDERS = Object.keys(BOUNDARIES);

// One config object per folder: `no-restricted-imports` options do not merge across objects.
const boundaryConfigs = FOLDERS.map((from) => {
  const patterns = FOLDERS.filter((to) => to !== from).map((to) => {
    if (!BOUNDARIES[from].includes(to)) {
      return { regex: `^(\\.\\./)+${to}(/|$)`, message: `${from}/ must not import ${to}/ (arrows point down).` };
    }
    if ((DEEP_ALLOWED[from] ?? []).includes(to)) return null;
    return {
      regex: `^(\\.\\./)+${to}/`,
      message: `${from}/ imports ${to}/ only through its index ('../${to}'); export what you need from ${to}/index.ts.`,
    };
  });
  return {
    files: [`${from}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: patterns.filter(Boolean) }] },
  };
});

module.exports = defineConfig(
  globalIgnores(['proto/gen/', 'dist/', '.tools/', 'coverage/']),
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.node } },
    rules: {
      // `_` marks a value left unused on purpose (a skipped tuple slot, a required parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // A variable a closure reads before its one assignment (cleanup set up before the resource exists) must
      // stay `let`: `const` there would be a temporal-dead-zone error if the closure ran first.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest } },
  },
  ...boundaryConfigs,
);
