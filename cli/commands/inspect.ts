// tpm-quote inspect: what the TPM is and what EK material it holds, as JSON, without creating any key.
import { X509Certificate } from 'node:crypto';
import {
  commands,
  constants as C,
  constantName,
  curveInfo,
  EK_PROFILES,
  sameKeyType,
  TpmError,
  trimDer,
  type EkKind,
  type TpmClient,
  type types,
} from '../../tpm';
import { TPM_OPTION_HELP, stringOption, type Command } from '../command';
import { withTpm } from '../io';

/** NV indices the TCG reserves for EK credentials (EK Credential Profile 2.5, 2.2.1.4): certificates, chains, templates. */
const EK_NV_FIRST = 0x01c00000;
const EK_NV_LAST = 0x01c07fff;
/** Largest NV index read as a certificate (the server's MAX_EK_CERT_BYTES). */
const MAX_NV_CERT_BYTES = 16 * 1024;

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const message = (err: unknown): string => (err instanceof TpmError ? err.message : String(err));

function keyOfPublic(p: types.TpmtPublic): string {
  if (p.type === C.TPM_ALG_RSA) return `rsa ${p.parameters.keyBits}`;
  if (p.type === C.TPM_ALG_ECC) {
    try {
      return `ecc ${curveInfo(p.parameters.curveID).node}`;
    } catch {
      return `ecc curve 0x${p.parameters.curveID.toString(16)}`;
    }
  }
  return constantName('TPM_ALG_', p.type);
}

function keyOfCert(c: X509Certificate): string {
  const d = c.publicKey.asymmetricKeyDetails ?? {};
  return `${c.publicKey.asymmetricKeyType} ${d.modulusLength ?? d.namedCurve ?? ''}`.trim();
}

const ATTRIBUTES: [number, string][] = [
  [C.TPMA_OBJECT_fixedTPM, 'fixedTPM'],
  [C.TPMA_OBJECT_restricted, 'restricted'],
  [C.TPMA_OBJECT_decrypt, 'decrypt'],
  [C.TPMA_OBJECT_sign, 'sign'],
];

/** The EK profile whose template `p` was made from, if any. */
function ekKindOf(p: types.TpmtPublic): EkKind | undefined {
  return (Object.keys(EK_PROFILES) as EkKind[]).find((k) => {
    // H-1/H-2 have no template here: a persistent key of theirs is matched by the agent's attribute checks instead.
    const template = EK_PROFILES[k].template;
    return template !== undefined && sameKeyType(p, template());
  });
}

async function persistentHandles(tpm: TpmClient) {
  const t = tpm.transport;
  const out = [];
  for (const handle of await commands.getHandles(t, C.HR_PERSISTENT)) {
    try {
      const r = await commands.execute(t, commands.TPM2_ReadPublic, { handles: { objectHandle: handle }, params: {} });
      const p = r.params.outPublic.value;
      out.push({
        handle: hex32(handle),
        key: keyOfPublic(p),
        attributes: ATTRIBUTES.filter(([bit]) => p.objectAttributes & bit).map(([, name]) => name),
        ekTemplate: ekKindOf(p) ?? null,
      });
    } catch (err) {
      out.push({ handle: hex32(handle), error: message(err) });
    }
  }
  return out;
}

async function ekNvIndices(tpm: TpmClient) {
  const t = tpm.transport;
  const profileOf = new Map(Object.values(EK_PROFILES).map((p) => [p.certIndex, p.kind]));
  const out = [];
  for (const index of await commands.getHandles(t, C.HR_NV_INDEX)) {
    if (index < EK_NV_FIRST || index > EK_NV_LAST) continue;
    const entry: Record<string, unknown> = { index: hex32(index), profile: profileOf.get(index) ?? null };
    try {
      const raw = await commands.nvReadAll(t, index, { maxSize: MAX_NV_CERT_BYTES });
      entry.size = raw.length;
      try {
        const c = new X509Certificate(trimDer(raw) ?? raw);
        Object.assign(entry, {
          subject: c.subject,
          issuer: c.issuer,
          key: keyOfCert(c),
          ca: c.ca,
          notAfter: c.validTo,
        });
      } catch {
        entry.certificate = false; // e.g. an EK template or nonce index
      }
    } catch (err) {
      entry.error = message(err);
    }
    out.push(entry);
  }
  return out;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'TPM facts as JSON: manufacturer, firmware, PCR banks, persistent keys, EK certificates in NV',
  help:
    'Usage: tpm-quote inspect [--tpm SPEC]\n\n' +
    'Prints JSON: manufacturer, vendor string, firmware version, spec level, PCR banks; each persistent\n' +
    'handle with its key and the EK template it matches (if any); each NV index in the EK credential range\n' +
    '(0x01c00000-0x01c07fff) with the certificate it holds (subject, issuer, key). Creates no key.\n\n' +
    `${TPM_OPTION_HELP}\n`,
  options: { tpm: { type: 'string' } },
  run: (values, io) =>
    withTpm(stringOption(values, 'tpm'), async (tpm) => {
      const info = await tpm.getInfo();
      const doc = {
        transport: tpm.transport.name,
        manufacturer: info.manufacturer,
        manufacturerId: hex32(info.manufacturerId),
        vendor: info.vendor,
        firmwareVersion: info.firmwareVersion,
        family: info.family,
        level: info.level,
        revision: info.revision,
        pcrBanks: Object.fromEntries(info.pcrBanks.map((b) => [b.hashName, b.pcrs.length])),
        persistentHandles: await persistentHandles(tpm),
        ekNvIndices: await ekNvIndices(tpm),
      };
      io.stdout(`${JSON.stringify(doc, null, 2)}\n`);
    }),
};
