// Bundles each plugin into one executable file (shebang, mode 0755) that needs no
// node_modules at run time: dist/tpm-quote-agent and dist/tpm-quote-server (run by the host's node; the
// host test suites use them). Then assembles dist/tpm_quote/, the self-contained plugin directory with
// the same bundles inside (scripts/build-plugin-dir.mjs): what the README installs.
import { chmod, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildPluginDir } from "./build-plugin-dir.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const targets = [
  { entry: "plugin-agent/main.ts", out: "dist/tpm-quote-agent" },
  { entry: "plugin-server/main.ts", out: "dist/tpm-quote-server" },
];

await mkdir(join(root, "dist"), { recursive: true });
for (const { entry, out } of targets) {
  const outfile = join(root, out);
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
    sourcemap: false,
    minify: false,
    logLevel: "warning",
  });
  await chmod(outfile, 0o755);
  process.stderr.write(`built ${out}\n`);
}

const dir = await buildPluginDir({
  root,
  plugins: Object.fromEntries(targets.map(({ out }) => [out.slice("dist/".length), join(root, out)])),
});
process.stderr.write(`built ${dir.slice(root.length + 1)}/\n`);
