import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // src/wire.ts is generated from the server's schema (scripts/wire.mjs), checked by typecheck.
  { ignores: ["dist/**", "out/**", "node_modules/**", "*.mjs", "src/wire.ts"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-floating-promises": "error",
      eqeqeq: "error",
    },
  },
);
