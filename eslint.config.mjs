// ESLint for the project's TypeScript (`npm run lint`): the recommended rules of ESLint and
// typescript-eslint; tsc (strict) does the type checking.
import js from "@eslint/js";
import stylistic from "@stylistic/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "stacks/.bundle/", "providers/", "scripts/toolchain/", "**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // A leading underscore marks a value left out on purpose (a destructured key, an unused argument).
  { rules: { "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }] } },
  // The house layout, fixed by `npm run lint -- --fix`.
  {
    plugins: { "@stylistic": stylistic },
    rules: {
      "@stylistic/indent": ["error", 2, { SwitchCase: 1, flatTernaryExpressions: true, ignoredNodes: ["ConditionalExpression *"] }],
      "@stylistic/quotes": ["error", "double", { avoidEscape: true, allowTemplateLiterals: "always" }],
      "@stylistic/semi": ["error", "always"],
      "@stylistic/comma-dangle": ["error", "always-multiline"],
      "@stylistic/no-trailing-spaces": "error",
      "@stylistic/eol-last": "error",
      "@stylistic/no-multiple-empty-lines": ["error", { max: 1 }],
      "@stylistic/max-len": ["error", { code: 200, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreComments: false }],
      "@stylistic/arrow-parens": ["error", "always"],
      "@stylistic/brace-style": ["error", "1tbs", { allowSingleLine: true }],
      "@stylistic/keyword-spacing": "error",
      "@stylistic/space-infix-ops": "error",
    },
  },
);
