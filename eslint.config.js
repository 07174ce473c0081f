// ESLint: typescript-eslint with type information. A focused set: the recommended rules that hold on
// this codebase, plus the type-aware promise rules that catch what tests rarely do (a promise nobody
// awaits, an async callback where a void one is expected).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'state/', 'coverage/', 'etc/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Type-level `any` is how the state tags infer a state's element types; values are `unknown`.
      '@typescript-eslint/no-explicit-any': 'off',
      // A closure that reads a binding assigned right after it is made (a callback handed to a constructor).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // An object handing out closures over its owner names it (`const backend = this`) on purpose.
      '@typescript-eslint/no-this-alias': 'off',
      // Prettier wraps code at 120 columns but leaves comments and strings alone; this holds comments to it too
      // (a message or pattern is kept whole so it stays greppable).
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      // `_`-prefixed names say "unused on purpose" (a destructured field left out, a parameter kept for its position).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'none',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },
  {
    // Plain JavaScript (scripts, the bin): no TypeScript project, so no type-aware rules.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  {
    // The status page's script runs in the browser.
    files: ['runtime/status/page/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', fetch: 'readonly', setTimeout: 'readonly', Intl: 'readonly' },
    },
  },
);
