// Renders the `spire` chart of spiffe/helm-charts-hardened with packaging/helm/values-tpm-quote.yaml and
// checks what SPIRE and Kubernetes would get: the tpm_quote blocks (with each executable's checksum) in the
// rendered server.conf / agent.conf; the init container, volumes and mounts in the spire-server and
// spire-agent pods; every rendered object decoded strictly as a Kubernetes API object. The chart is in no
// package registry, so this is run by hand with a local copy of it (docs/kubernetes.md); `npm test` runs
// test/plugin/helm-values.test.ts instead.
//
//   node scripts/check-helm-render.mjs CHART_DIR [--dir PLUGIN_DIR] [--out DIR]
//
// CHART_DIR: charts/spire of a helm-charts-hardened checkout, after `helm dependency build`. PLUGIN_DIR: the
// plugin directory the checksums are taken from (default dist/tpm_quote). --out: also write the rendered
// manifests, server.conf and agent.conf there. helm: $HELM, else .tools/bin/helm (scripts/install-helm.sh).
// Prints one line per check; exits 1 when any fails.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const yaml = createRequire(import.meta.url)("js-yaml");
const valuesFile = join(root, "packaging/helm/values-tpm-quote.yaml");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [value] = args.splice(i, 2).slice(1);
  if (!value) throw new Error(`${name} needs a value`);
  return value;
};
const pluginDir = resolve(option("--dir", join(root, "dist/tpm_quote")));
const outDir = option("--out", undefined);
const [chartDir] = args;
if (!chartDir || args.length !== 1) {
  console.error("usage: node scripts/check-helm-render.mjs CHART_DIR [--dir PLUGIN_DIR] [--out DIR]");
  process.exit(2);
}
const helm = process.env.HELM ?? join(root, ".tools/bin/helm");
if (!existsSync(helm) && !process.env.HELM) throw new Error(`${helm} missing: run bash scripts/install-helm.sh`);

let failures = 0;
function check(what, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"}  ${what}${!ok && detail ? `: ${detail}` : ""}`);
  if (!ok) failures++;
}
// Deep equality regardless of key order (helm sorts keys).
const same = (a, b) => isDeepStrictEqual(a, b);
const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");
const template = (extra) =>
  spawnSync(helm, ["template", "spire", chartDir, "--namespace", "spire-server", "-f", valuesFile, ...extra], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });

// Without checksums the chart must refuse: nothing unpinned can be deployed by mistake.
const unpinned = template([]);
check("without plugin_checksum the chart refuses to render", unpinned.status !== 0 && /plugin_checksum is a required field/.test(unpinned.stderr), unpinned.stderr.trim());

const flags = execFileSync("bash", [join(root, "scripts/helm-plugin-checksums.sh"), "--dir", pluginDir], { encoding: "utf8" }).trim().split(/\s+/);
const rendered = template(flags);
if (rendered.status !== 0) {
  check("helm template with the checksums", false, rendered.stderr.trim());
  process.exit(1);
}
const docs = yaml.loadAll(rendered.stdout).filter(Boolean);
const values = yaml.load(readFileSync(valuesFile, "utf8"));
const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);

const sides = [
  { chart: "spire-server", exe: "tpm-quote-server", conf: "server.conf", workload: find("StatefulSet", "spire-server") },
  { chart: "spire-agent", exe: "tpm-quote-agent", conf: "agent.conf", workload: find("DaemonSet", "spire-agent") },
];
for (const { chart, exe, conf, workload } of sides) {
  const want = values[chart];
  const configMap = find("ConfigMap", chart);
  const spireConf = JSON.parse(configMap.data[conf]);
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, conf), configMap.data[conf]);
  }
  // SPIRE's JSON layout: plugins.<Type> is a list of single-key maps.
  const attestors = spireConf.plugins.NodeAttestor.map((m) => Object.entries(m)[0]);
  const tpmQuote = attestors.find(([name]) => name === "tpm_quote")?.[1];
  check(`${chart} ${conf}: NodeAttestor "tpm_quote" present`, tpmQuote !== undefined, JSON.stringify(attestors.map(([n]) => n)));
  if (!tpmQuote) continue;
  const wantBlock = want.customPlugins.nodeAttestor.tpm_quote;
  check(`${chart} ${conf}: plugin_cmd ${tpmQuote.plugin_cmd}`, tpmQuote.plugin_cmd === wantBlock.plugin_cmd);
  check(`${chart} ${conf}: plugin_checksum = sha256(${join(pluginDir, exe)}) = ${tpmQuote.plugin_checksum}`, tpmQuote.plugin_checksum === sha256(join(pluginDir, exe)));
  check(`${chart} ${conf}: plugin_data as in the values file`, same(tpmQuote.plugin_data, wantBlock.plugin_data), JSON.stringify(tpmQuote.plugin_data));
  if (chart === "spire-agent") check(`${chart} ${conf}: tpm_quote is the agent's only NodeAttestor`, attestors.length === 1, JSON.stringify(attestors.map(([n]) => n)));

  const pod = workload.spec.template.spec;
  const init = pod.initContainers.find((c) => c.name === "install-tpm-quote");
  const wantInit = want.initContainers[0];
  check(`${chart} pod: init container install-tpm-quote (${init?.image}) runs ${JSON.stringify(init?.command)}`, init && init.image === wantInit.image && same(init.command, wantInit.command) && same(init.volumeMounts, wantInit.volumeMounts));
  const main = pod.containers.find((c) => c.name === chart);
  for (const m of want.extraVolumeMounts) {
    const got = main.volumeMounts.find((v) => v.name === m.name);
    check(`${chart} container: mounts ${m.name} at ${m.mountPath}${m.readOnly ? " read-only" : ""}`, got && got.mountPath === m.mountPath && Boolean(got.readOnly) === Boolean(m.readOnly), JSON.stringify(got));
  }
  for (const v of want.extraVolumes) {
    check(`${chart} pod: volume ${v.name} ${JSON.stringify(Object.fromEntries(Object.entries(v).filter(([k]) => k !== "name")))}`, same(pod.volumes.find((p) => p.name === v.name), v));
  }
  if (chart === "spire-agent") {
    check(`${chart} container: privileged, pod runs as uid 0 (for /dev/tpmrm0)`, main.securityContext?.privileged === true && pod.securityContext?.runAsUser === 0, JSON.stringify([main.securityContext, pod.securityContext]));
  }
}
// Every rendered object decoded strictly into Kubernetes' API types (tools/helm/manifest-check).
const manifests = join(mkdtempSync(join(tmpdir(), "tpmq-helm-render-")), "manifests.yaml");
writeFileSync(manifests, rendered.stdout);
const strict = spawnSync("go", ["run", "./manifest-check", manifests], { cwd: join(root, "tools/helm"), encoding: "utf8" });
const decoded = strict.stdout.split("\n").filter((l) => l.startsWith("ok ")).length;
const skipped = strict.stdout.split("\n").filter((l) => l.startsWith("skipped ")).length;
check(`all ${decoded + skipped} rendered objects decode strictly as Kubernetes API objects (${skipped} custom resources skipped)`, strict.status === 0 && decoded > 0, strict.stderr.trim());
rmSync(dirname(manifests), { recursive: true, force: true });
if (outDir) writeFileSync(join(outDir, "manifests.yaml"), rendered.stdout);
console.log(failures === 0 ? "all checks passed" : `${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
