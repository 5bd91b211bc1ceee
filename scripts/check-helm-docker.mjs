// The helm values end to end without a cluster: the chart is rendered with packaging/helm/values-tpm-quote.yaml
// (scripts/check-helm-render.mjs), then the pods are played with Docker, from the rendered pod specs:
// the values' init container copies the plugin out of the plugin image into each pod's plugin volume under
// its own security context; spire-server and spire-agent (the FROM-scratch images) run as the pods' users
// with the pods' volume mounts, the server with the rendered tpm_quote block unchanged. A swtpm container
// stands in for /dev/tpmrm0. Passes when the agent attests with tpm_quote.
//
//   node scripts/check-helm-docker.mjs CHART_DIR [--keep]
//
// Needs a Docker engine and the local images of scripts/build-images.sh (tpm-quote-plugin, spire-server,
// spire-agent, tpm-quote-swtpm, all :latest-local), helm (scripts/install-helm.sh) and a copy of the chart
// (see check-helm-render.mjs). By hand only, like check-helm-render.mjs. What differs from a cluster:
//   - volumes are host directories (emptyDir, persistent volumes, host directories: fresh, mode 0777;
//     ConfigMaps: files this script writes); Secrets, projected tokens and the host's TPM device are not
//     mounted;
//   - plugins that need the Kubernetes API are dropped (server: k8s_psat, k8s_configmap bundle publisher;
//     agent: the k8s workload attestor becomes unix); the agent's tpm points at the swtpm container and its
//     server_address at the server container;
//   - no privileged mode (it only serves /dev/tpmrm0).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const yaml = createRequire(import.meta.url)('js-yaml');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const [chartDir] = args.filter((a) => a !== '--keep');
if (!chartDir) {
  console.error('usage: node scripts/check-helm-docker.mjs CHART_DIR [--keep]');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'tpmq-helm-docker-'));
const tag = `tpmq-helm-${process.pid}`;
const net = `${tag}-net`;
const containers = [];
const log = (line) => console.log(line);

function docker(...a) {
  return execFileSync('docker', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
/** A host directory standing in for a volume: fresh and world-writable, as an emptyDir is. */
function volumeDir(...parts) {
  const dir = join(work, 'volumes', ...parts);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}
function cleanup() {
  for (const c of containers) {
    const r = spawnSync('docker', ['logs', c], { encoding: 'utf8' });
    writeFileSync(join(work, `${c}.log`), `${r.stdout ?? ''}${r.stderr ?? ''}`);
    spawnSync('docker', ['rm', '-f', c]);
  }
  spawnSync('docker', ['network', 'rm', net]);
}
async function waitFor(what, seconds, test) {
  for (let i = 0; i < seconds; i++) {
    if (test()) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${what}: not within ${seconds} s`);
}

/** docker run flags for a container of a rendered pod: user, read-only root, capabilities. */
function securityFlags(podSc = {}, sc = {}) {
  const user = sc.runAsUser ?? podSc.runAsUser;
  const group = sc.runAsGroup ?? podSc.runAsGroup;
  const flags = [];
  if (user !== undefined) flags.push('--user', `${user}:${group ?? user}`);
  if (sc.readOnlyRootFilesystem) flags.push('--read-only');
  for (const cap of sc.capabilities?.drop ?? []) flags.push('--cap-drop', cap);
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
  return flags;
}

/**
 * -v flags for a rendered container's volume mounts. `configMaps` maps a ConfigMap name to the directory
 * holding its files; emptyDirs and persistent volumes are host directories shared by name within the pod.
 */
function mountFlags(side, pod, container, configMaps) {
  const flags = [];
  for (const m of container.volumeMounts ?? []) {
    const v = pod.volumes.find((x) => x.name === m.name);
    let dir;
    // No pod volume: a volumeClaimTemplate. A host directory (not a device) is a fresh directory too.
    const hostDir = v?.hostPath && v.hostPath.type !== 'CharDevice';
    if (!v || v.emptyDir || v.persistentVolumeClaim || hostDir) dir = volumeDir(side, m.name);
    else if (v.configMap && configMaps[v.configMap.name]) dir = configMaps[v.configMap.name];
    else {
      log(
        `  (${side}: ${m.name} at ${m.mountPath} not mounted: ${Object.keys(v)
          .filter((k) => k !== 'name')
          .join(',')})`,
      );
      continue;
    }
    if (m.subPath) throw new Error(`${side}: subPath mounts are not played (${m.name})`);
    flags.push('-v', `${dir}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
  }
  return flags;
}

/** Runs the values' init container of a rendered pod, as the pod would; returns its plugin volume's directory. */
function runInit(side, pod) {
  const init = pod.initContainers.find((c) => c.name === 'install-tpm-quote');
  const [entrypoint, ...rest] = init.command;
  const r = spawnSync(
    'docker',
    [
      'run',
      '--rm',
      '--pull',
      'never',
      ...securityFlags(pod.securityContext, init.securityContext),
      ...mountFlags(side, pod, init, {}),
      '--entrypoint',
      entrypoint,
      init.image,
      ...rest,
    ],
    { encoding: 'utf8' },
  );
  const warnings = r.stderr.split('\n').filter(Boolean);
  log(
    `${side}: init container ${init.image} ${JSON.stringify(init.command)} exit ${r.status}` +
      (warnings.length
        ? `, ${warnings.length} stderr lines (${warnings.filter((w) => /can't preserve ownership/.test(w)).length} "can't preserve ownership")`
        : ''),
  );
  if (r.status !== 0) throw new Error(`${side}: init container failed: ${r.stderr}`);
  return volumeDir(side, init.volumeMounts[0].name);
}

const nodeAttestors = (conf) => conf.plugins.NodeAttestor.map((m) => Object.entries(m)[0]);

/** Starts container `${tag}-${name}` detached on the test network from a local image; removed at the end. */
function runDetached(name, ...args) {
  containers.push(`${tag}-${name}`);
  docker('run', '-d', '--pull', 'never', '--name', `${tag}-${name}`, '--network', net, ...args);
}

/** Starts one container of a rendered pod, detached on the test network, as the pod would run it. */
function runPodContainer(side, pod, name, configMaps, image, extraFlags = []) {
  const container = pod.containers.find((c) => c.name === name);
  runDetached(
    side,
    ...extraFlags,
    ...securityFlags(pod.securityContext, container.securityContext),
    ...mountFlags(name, pod, container, configMaps),
    image,
    ...container.args,
  );
}

const IMAGES = ['tpm-quote-plugin', 'spire-server', 'spire-agent', 'tpm-quote-swtpm'].map((i) => `${i}:latest-local`);
try {
  // Local images only (`--pull never` below too): no registry is to be asked for anything.
  for (const image of IMAGES) {
    if (spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status !== 0)
      throw new Error(`image ${image} missing: run bash scripts/build-images.sh`);
  }
  // Render once for the pod specs the init containers run in; their checksums (of placeholder files)
  // are never used.
  const placeholder = join(work, 'placeholder', 'tpm_quote');
  mkdirSync(placeholder, { recursive: true });
  for (const f of ['tpm-quote-server', 'tpm-quote-agent']) writeFileSync(join(placeholder, f), f);
  const first = join(work, 'rendered-first');
  execFileSync('node', [join(root, 'scripts/check-helm-render.mjs'), chartDir, '--dir', placeholder, '--out', first], {
    stdio: 'ignore',
  });
  let docs = yaml.loadAll(readFileSync(join(first, 'manifests.yaml'), 'utf8')).filter(Boolean);
  const podOf = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name).spec.template.spec;

  // The init containers fill each pod's plugin volume from the plugin image.
  const pluginDir = {
    'spire-server': runInit('spire-server', podOf('StatefulSet', 'spire-server')),
    'spire-agent': runInit('spire-agent', podOf('DaemonSet', 'spire-agent')),
  };
  // The checksums of what the init container copied, rendered into the configs SPIRE runs.
  const rendered = join(work, 'rendered');
  const check = spawnSync(
    'node',
    [
      join(root, 'scripts/check-helm-render.mjs'),
      chartDir,
      '--dir',
      join(pluginDir['spire-agent'], 'tpm_quote'),
      '--out',
      rendered,
    ],
    { encoding: 'utf8' },
  );
  log(`check-helm-render over the init container's copy: ${check.stdout.trim().split('\n').pop()}`);
  if (check.status !== 0) throw new Error(check.stdout);
  for (const f of ['tpm-quote-server', 'tpm-quote-agent']) {
    if (
      !readFileSync(join(pluginDir['spire-server'], 'tpm_quote', f)).equals(
        readFileSync(join(pluginDir['spire-agent'], 'tpm_quote', f)),
      )
    )
      throw new Error(`${f} differs between the pods' copies`);
  }
  docs = yaml.loadAll(readFileSync(join(rendered, 'manifests.yaml'), 'utf8')).filter(Boolean);
  const serverPod = podOf('StatefulSet', 'spire-server');
  const agentPod = podOf('DaemonSet', 'spire-agent');

  docker('network', 'create', '--internal', net);
  // The TPM: a swtpm container whose local CA the server's ek_ca_path ConfigMap holds.
  const swtpmDir = volumeDir('swtpm');
  runDetached('swtpm', '--network-alias', 'swtpm', '-v', `${swtpmDir}:/swtpm`, 'tpm-quote-swtpm:latest-local');
  const caDir = join(swtpmDir, 'ca');
  await waitFor(
    'swtpm local CA',
    60,
    () => existsSync(join(caDir, 'issuercert.pem')) && existsSync(join(caDir, 'swtpm-localca-rootca-cert.pem')),
  );
  const ekCa = volumeDir('configmap-tpm-quote-ek-ca');
  copyFileSync(join(caDir, 'swtpm-localca-rootca-cert.pem'), join(ekCa, 'root.pem'));
  copyFileSync(join(caDir, 'issuercert.pem'), join(ekCa, 'issuer.pem'));

  // spire-server: the rendered config less the plugins that need the Kubernetes API.
  const serverConf = JSON.parse(readFileSync(join(rendered, 'server.conf'), 'utf8'));
  serverConf.plugins.NodeAttestor = serverConf.plugins.NodeAttestor.filter((m) => !('k8s_psat' in m));
  delete serverConf.plugins.BundlePublisher;
  log(
    `spire-server tpm_quote block, as rendered: ${JSON.stringify(Object.fromEntries(nodeAttestors(serverConf)).tpm_quote)}`,
  );
  const serverConfDir = volumeDir('configmap-spire-server');
  writeFileSync(join(serverConfDir, 'server.conf'), JSON.stringify(serverConf, null, 1));
  runPodContainer(
    'server',
    serverPod,
    'spire-server',
    { 'spire-server': serverConfDir, 'tpm-quote-ek-ca': ekCa },
    'spire-server:latest-local',
    ['--network-alias', 'spire-server'],
  );
  const serverCli = (...a) =>
    spawnSync('docker', ['exec', `${tag}-server`, '/opt/spire/bin/spire-server', ...a], { encoding: 'utf8' });
  await waitFor('spire-server healthy', 90, () => serverCli('healthcheck').status === 0);
  const bundleDir = volumeDir('configmap-spire-bundle');
  writeFileSync(join(bundleDir, 'bundle.spiffe'), serverCli('bundle', 'show', '-format', 'spiffe').stdout);

  // spire-agent: the rendered config with the TPM, server address and workload attestor of this stand-in.
  const agentConf = JSON.parse(readFileSync(join(rendered, 'agent.conf'), 'utf8'));
  const agentBlock = Object.fromEntries(nodeAttestors(agentConf)).tpm_quote;
  agentBlock.plugin_data.tpm = 'swtpm:host=swtpm,port=2321';
  Object.assign(agentConf.agent, { server_address: 'spire-server', server_port: '8081' });
  agentConf.plugins.WorkloadAttestor = [{ unix: { plugin_data: {} } }];
  log(`spire-agent tpm_quote block (tpm replaced): ${JSON.stringify(agentBlock)}`);
  const agentConfDir = volumeDir('configmap-spire-agent');
  writeFileSync(join(agentConfDir, 'agent.conf'), JSON.stringify(agentConf, null, 1));
  runPodContainer(
    'agent',
    agentPod,
    'spire-agent',
    { 'spire-agent': agentConfDir, 'spire-bundle': bundleDir },
    'spire-agent:latest-local',
    // The internal network's DNS never answers the _grpclb SRV query spire-agent sends before each dial
    // (10 s per attestation with Go's defaults; docs/field-notes.md); CoreDNS in a cluster answers at once.
    ['--dns-opt', 'timeout:1', '--dns-opt', 'attempts:1'],
  );
  const agentLog = () => {
    const r = spawnSync('docker', ['logs', `${tag}-agent`], { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`;
  };
  await waitFor("the agent's tpm_quote attestation", 120, () => /Node attestation was successful/.test(agentLog()));
  const id = /spiffe_id="?(spiffe:\/\/[^" ]+)/.exec(
    agentLog()
      .split('\n')
      .find((l) => /Node attestation was successful/.test(l)),
  )[1];
  const listed = serverCli('agent', 'list').stdout;
  log(`spire-agent attested as ${id}; spire-server agent list: ${/Attestation type\s*:\s*(\S+)/.exec(listed)?.[1]}`);
  if (!id.includes('/spire/agent/tpm_quote/') || !listed.includes(id))
    throw new Error('agent not listed with its tpm_quote ID');
  log('ok: the chart-rendered pods attested with tpm_quote');
  cleanup();
  if (!keep) rmSync(work, { recursive: true, force: true });
} catch (err) {
  cleanup();
  console.error(`FAIL: ${err.message}\n(logs and files kept in ${work})`);
  for (const f of readdirSync(work).filter((f) => f.endsWith('.log')))
    console.error(`--- ${f}\n${readFileSync(join(work, f), 'utf8').split('\n').slice(-15).join('\n')}`);
  process.exit(1);
}
