// Bundles the extension into one CommonJS file: vscode-languageclient resolves only through its
// `exports` map, and a bundle keeps the .vsix free of node_modules (`vsce package --no-dependencies`).
import * as esbuild from "esbuild";

const production = process.argv.includes("--production");

await esbuild.build({
  entryPoints: ["src/extension.ts"],
  bundle: true,
  outfile: "dist/extension.js",
  format: "cjs",
  platform: "node",
  target: "node20",
  external: ["vscode"],
  sourcemap: !production,
  minify: production,
  logLevel: "warning",
});
