// The agent's ek_certificate_path: an EK certificate the operator fetched for a TPM without one in NV
// (Intel PTT serves it from the vendor's web service; some VMs have none), optionally with its CAs.
import { readFile, stat } from 'node:fs/promises';
import { MAX_EK_CERTIFICATE_BYTES, MAX_EK_INTERMEDIATES } from '../proto';

/** The certificate (DER) and the CA certificates after it in the file (DER, sent as untrusted intermediates). */
export interface EkCertificateFile {
  certificate: Uint8Array;
  intermediates: Uint8Array[];
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/**
 * Reads `path`: one DER certificate, or PEM certificates (the EK certificate first, then CA certificates).
 * Bounded: at most 1 + MAX_EK_INTERMEDIATES certificates of at most MAX_EK_CERTIFICATE_BYTES each. Does
 * NOT check the certificates (the agent checks the EK key matches, the server checks the rest). Throws an
 * Error naming the file.
 */
export async function readEkCertificateFile(path: string): Promise<EkCertificateFile> {
  const maxFile = (1 + MAX_EK_INTERMEDIATES) * MAX_EK_CERTIFICATE_BYTES * 2;
  const { size } = await stat(path);
  if (size > maxFile) throw new Error(`${path}: ${size} bytes, larger than ${maxFile}`);
  const bytes = await readFile(path);
  let ders: Uint8Array[];
  if (bytes[0] === 0x30) ders = [new Uint8Array(bytes)];
  else {
    ders = [...bytes.toString('latin1').matchAll(PEM_BLOCK)].map(
      (m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')),
    );
    if (ders.length === 0) throw new Error(`${path}: neither a DER certificate nor PEM certificates`);
  }
  if (ders.length > 1 + MAX_EK_INTERMEDIATES)
    throw new Error(`${path}: ${ders.length} certificates (at most ${1 + MAX_EK_INTERMEDIATES})`);
  const big = ders.findIndex((d) => d.length > MAX_EK_CERTIFICATE_BYTES);
  if (big >= 0)
    throw new Error(`${path}: certificate ${big} is ${ders[big].length} bytes (at most ${MAX_EK_CERTIFICATE_BYTES})`);
  return { certificate: ders[0], intermediates: ders.slice(1) };
}
