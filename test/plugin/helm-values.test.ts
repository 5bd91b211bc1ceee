// packaging/helm/values-tpm-quote.yaml without the chart (no registry carries it, so CI cannot render it):
// the tpm_quote blocks laid out as the chart renders them (JSON), read by SPIRE v1.13.3's own config code
// (tools/spire/plugin-config), must give plugin_data our plugins accept; plugin_cmd must be where the
// init container copies the plugin; the Kubernetes pieces must decode strictly as API objects
// (tools/helm/manifest-check); and scripts/helm-plugin-checksums.sh must supply each executable's SHA-256.
// Rendering the real chart is by hand (scripts/check-helm-render.mjs, docs/kubernetes.md).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, resolve } from "node:path";
import { configureAgent } from "../../plugin-agent/config";
import { configureServer } from "../../plugin-server/config";

// js-yaml 3 ships no types; only load() is used.
const { load: loadYaml } = require("js-yaml") as { load(text: string): unknown };

const ROOT = resolve(__dirname, "../..");
const VALUES = join(ROOT, "packaging/helm/values-tpm-quote.yaml");
const CHECKSUMS = join(ROOT, "scripts/helm-plugin-checksums.sh");
// Where the plugin image keeps the plugin directory (the VM install path too).
const IMAGE_PLUGIN_DIR = "/opt/spire/plugins/tpm_quote";
// The agent chart mounts its persistence volume here and uses it as data_dir (spire-agent templates).
const AGENT_CHART_DATA_DIR = "/var/lib/spire";

interface Mount { name: string; mountPath: string; readOnly?: boolean }
interface Container { name: string; image: string; command: string[]; volumeMounts: Mount[] }
interface Volume { name: string; emptyDir?: object; configMap?: object; hostPath?: { path: string; type?: string } }
interface PluginBlock { plugin_cmd: string; plugin_checksum?: string; plugin_data: Record<string, unknown> }
interface Side {
  initContainers: Container[];
  extraVolumes: Volume[];
  extraVolumeMounts: Mount[];
  customPlugins: { nodeAttestor: Record<string, PluginBlock> };
}
type Values = Record<"spire-server" | "spire-agent", Side>;

const SIDES = [
  { chart: "spire-server", exe: "tpm-quote-server" },
  { chart: "spire-agent", exe: "tpm-quote-agent" },
] as const;

let work: string;
let pluginConfigTool: string;
let manifestCheckTool: string;
let values: Values;

/** Builds the Go program at tools/<module>/<name> into the test's directory; returns its path. */
function goBuild(module: string, name: string): string {
  const out = join(work, name);
  execFileSync("go", ["build", "-o", out, `./${name}`], { cwd: join(ROOT, "tools", module), stdio: ["ignore", "inherit", "inherit"] });
  return out;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "tpmq-helm-values-"));
  values = loadYaml(readFileSync(VALUES, "utf8")) as Values;
  // SPIRE's config code from the module tools/spire pins; Kubernetes' API types from the one tools/helm
  // pins. A fresh machine spends about a minute downloading and compiling them; then Go's caches serve.
  pluginConfigTool = goBuild("spire", "plugin-config");
  manifestCheckTool = goBuild("helm", "manifest-check");
}, 900_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const block = (chart: keyof Values) => values[chart].customPlugins.nodeAttestor.tpm_quote;

/** The mount of `side`'s SPIRE container whose mountPath holds `path`, if any. */
function mountHolding(side: Side, path: string): Mount | undefined {
  return side.extraVolumeMounts.find((m) => path === m.mountPath || path.startsWith(m.mountPath + "/"));
}

/**
 * What SPIRE gives the plugin as plugin_data: the block laid out as the chart's configmap renders it
 * (JSON, plugins as a map of lists of maps), decoded by SPIRE's own code.
 */
function pluginDataFromSpire(b: PluginBlock): string {
  const file = join(work, "spire.json");
  const plugins = { NodeAttestor: [{ tpm_quote: { ...b, plugin_checksum: "00".repeat(32) } }] };
  writeFileSync(file, JSON.stringify({ plugins }, null, 2));
  const decoded = JSON.parse(execFileSync(pluginConfigTool, [file], { encoding: "utf8" })) as { name: string; plugin_data: string }[];
  expect(decoded.map((p) => p.name)).toEqual(["tpm_quote"]);
  return decoded[0].plugin_data;
}

describe("packaging/helm/values-tpm-quote.yaml", () => {
  test.each(SIDES)("$chart: plugin_cmd is $exe where the init container copies the plugin directory", ({ chart, exe }) => {
    const side = values[chart];
    const init = side.initContainers.find((c) => c.name === "install-tpm-quote");
    expect(init).toBeDefined();
    // The plugin image's copier (packaging/docker/plugin): `cp -a SOURCE DIR/` makes DIR/<basename SOURCE>.
    const [copier, cp, flag, source, targetDir] = init!.command;
    expect([init!.command.length, copier, cp, flag]).toEqual([5, "/bin/busybox", "cp", "-a"]);
    expect(source).toBe(IMAGE_PLUGIN_DIR);
    expect(targetDir.endsWith("/")).toBe(true);
    const target = posix.join(targetDir, posix.basename(source));
    // The init container writes into a volume; SPIRE's container mounts the same volume read-only.
    const initMount = init!.volumeMounts.find((m) => target.startsWith(m.mountPath + "/"));
    expect(initMount).toBeDefined();
    const volume = side.extraVolumes.find((v) => v.name === initMount!.name);
    expect(volume?.emptyDir).toEqual({});
    const spireMount = side.extraVolumeMounts.find((m) => m.name === initMount!.name);
    expect(spireMount?.readOnly).toBe(true);
    const copied = posix.join(spireMount!.mountPath, posix.relative(initMount!.mountPath, target), exe);
    expect(block(chart).plugin_cmd).toBe(copied);
  });

  test.each(SIDES)("$chart: the init container, volumes, mounts and security contexts are valid Kubernetes objects", ({ chart }) => {
    // The values' pieces in the places the chart puts them, in one Pod decoded strictly (a misspelt or
    // misplaced field fails).
    const side = values[chart] as Side & { securityContext?: object; podSecurityContext?: object };
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: chart },
      spec: {
        securityContext: side.podSecurityContext,
        initContainers: side.initContainers,
        containers: [{ name: chart, image: chart, securityContext: side.securityContext, volumeMounts: side.extraVolumeMounts }],
        volumes: side.extraVolumes,
      },
    };
    const file = join(work, `${chart}-pod.json`);
    writeFileSync(file, JSON.stringify(pod));
    const r = spawnSync(manifestCheckTool, [file], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect([r.status, r.stdout]).toEqual([0, `ok Pod ${chart}\n`]);
  });

  test.each(SIDES)("$chart: no plugin_checksum committed (the chart refuses to render until the script's is given)", ({ chart }) => {
    expect(Object.keys(block(chart)).sort()).toEqual(["plugin_cmd", "plugin_data"]);
  });

  test("spire-server: SPIRE's plugin_data passes the server plugin's config, ek_ca_path read from its mount", () => {
    const side = values["spire-server"];
    const b = block("spire-server");
    const caPath = b.plugin_data.ek_ca_path as string;
    const mount = mountHolding(side, caPath);
    expect(mount).toBeDefined();
    expect(side.extraVolumes.find((v) => v.name === mount!.name)?.configMap).toBeDefined();
    // The mounted ConfigMap as the kubelet lays it out: the files in a timestamped directory, `..data`
    // linking to it, and each key a link through `..data`. Only the key's file must be read.
    const local = join(work, "server-root", caPath);
    mkdirSync(join(local, "..2026_12_01_10_00_00.1"), { recursive: true });
    copyFileSync(join(ROOT, "test/fixtures/tpm/ca-root.pem"), join(local, "..2026_12_01_10_00_00.1", "ek-ca.pem"));
    symlinkSync("..2026_12_01_10_00_00.1", join(local, "..data"));
    symlinkSync("..data/ek-ca.pem", join(local, "ek-ca.pem"));
    const data = pluginDataFromSpire({ ...b, plugin_data: { ...b.plugin_data, ek_ca_path: local } });
    const r = configureServer({ trustDomain: "example.org" }, data);
    expect("notes" in r ? r.notes : []).toEqual([]);
    const config = "config" in r ? r.config : undefined;
    expect(config?.ekCas?.map((c) => c.subject)).toEqual([new X509Certificate(readFileSync(join(local, "ek-ca.pem"))).subject]);
  });

  test("spire-agent: SPIRE's plugin_data passes the agent plugin's config; the TPM device and ak_data_dir are mounted", () => {
    const side = values["spire-agent"];
    const b = block("spire-agent");
    const r = configureAgent({ trustDomain: "example.org" }, pluginDataFromSpire(b));
    expect("notes" in r ? r.notes : []).toEqual([]);
    const config = "config" in r ? r.config : undefined;
    const device = /^device:(.+)$/.exec(config!.tpm)?.[1];
    expect(device).toBeDefined();
    const deviceMount = mountHolding(side, device!);
    expect(side.extraVolumes.find((v) => v.name === deviceMount?.name)?.hostPath).toEqual({ path: device, type: "CharDevice" });
    expect(config!.akDataDir.startsWith(AGENT_CHART_DATA_DIR + "/")).toBe(true);
  });
});

describe("scripts/helm-plugin-checksums.sh", () => {
  let dir: string;
  const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
  beforeAll(() => {
    dir = join(work, "tpm_quote");
    mkdirSync(dir);
    // Two different executables: a swapped pair would show.
    writeFileSync(join(dir, "tpm-quote-server"), "server build\n");
    writeFileSync(join(dir, "tpm-quote-agent"), "agent build\n");
  });

  test("prints one --set flag per chart with its executable's SHA-256", () => {
    const out = execFileSync("bash", [CHECKSUMS, "--dir", dir], { encoding: "utf8" });
    expect(out.trim().split(/\s+/)).toEqual([
      "--set", `spire-server.customPlugins.nodeAttestor.tpm_quote.plugin_checksum=${sha256(join(dir, "tpm-quote-server"))}`,
      "--set", `spire-agent.customPlugins.nodeAttestor.tpm_quote.plugin_checksum=${sha256(join(dir, "tpm-quote-agent"))}`,
    ]);
  });

  test("--values-out writes an overlay that fills the values file's plugin_checksum", () => {
    const overlay = join(work, "checksums.yaml");
    execFileSync("bash", [CHECKSUMS, "--dir", dir, "--values-out", overlay], { encoding: "utf8" });
    const v = loadYaml(readFileSync(overlay, "utf8")) as Values;
    for (const { chart, exe } of SIDES) {
      expect(v[chart].customPlugins.nodeAttestor.tpm_quote).toEqual({ plugin_checksum: sha256(join(dir, exe)) });
    }
  });

  test("a missing executable is an error naming it, and nothing is printed", () => {
    const empty = join(work, "empty", "tpm_quote");
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, "tpm-quote-server"), "x");
    const r = spawnSync("bash", [CHECKSUMS, "--dir", empty], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${join(empty, "tpm-quote-agent")} missing`);
  });
});
