// The --ek option shared by ek-hash and ek-cert: which EK, with the agent's ek_algorithm choices and more.
import { ekHashOfPkixDer, publicToPkixDer, type EkChoice, type EkInfo, type TpmClient } from '../../tpm';
import { usageError } from '../exit-codes';
import { stringOption, type Values } from '../command';

const CHOICES: readonly EkChoice[] = ['auto', 'rsa', 'ecc', 'rsa2048', 'ecc-p256', 'ecc-p384'];

export const EK_OPTION_HELP =
  "  --ek KIND        which EK, as the agent's ek_algorithm picks it: auto (default), rsa, ecc,\n" +
  '                   or one kind: rsa2048, ecc-p256, ecc-p384';

/** Reads the EK named by --ek (default `auto`, the agent's default). */
export function readChosenEk(tpm: TpmClient, values: Values): Promise<EkInfo> {
  const ek = stringOption(values, 'ek') ?? 'auto';
  if (!(CHOICES as readonly string[]).includes(ek))
    throw usageError(`--ek: unknown EK kind "${ek}" (expected ${CHOICES.join(', ')})`);
  return tpm.readEk(ek as EkChoice);
}

/** Hex SHA-256 of the EK public key's PKIX (SubjectPublicKeyInfo) DER: the server's ek_hash and agent ID suffix. */
export function ekHash(ek: EkInfo): string {
  return ekHashOfPkixDer(publicToPkixDer(ek.public.value));
}
