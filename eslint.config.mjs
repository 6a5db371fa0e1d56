// Why: one lint configuration for the host (src/), the webviews (webview/) and the tests (test/), so that
// unused code, loose equality and promises nobody awaits or voids are caught before review. TypeScript
// files are linted with type information (each folder's own tsconfig.json, found by the project service)
// for the promise rules; plain JavaScript (the test harness, e2e and bench scripts) without it.

import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Rules for every file: strict equality except the `x == null` idiom (null or undefined), and unused names
 * are errors unless they start with `_` on purpose.
 */
const shared = {
  eqeqeq: ['error', 'always', { null: 'ignore' }],
  'prefer-const': 'error',
  'no-var': 'error',
  'no-unused-vars': 'off',
  '@typescript-eslint/no-unused-vars': [
    'error',
    { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
  ],
};

export default defineConfig(
  { ignores: ['out/', 'dist/', '.cache/', '.test-output/', 'node_modules/', 'training/', 'test/fixtures/', 'logs/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  { rules: shared },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  { files: ['src/**/*.ts'], languageOptions: { globals: globals.node } },
  { files: ['webview/**/*.ts'], languageOptions: { globals: globals.browser } },
  // Test scripts run in Node and hand callbacks to the browser (page.evaluate), so both sets of globals.
  { files: ['test/**/*.{ts,js,mjs,cjs}'], languageOptions: { globals: { ...globals.node, ...globals.browser, ...globals.mocha } } },
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
