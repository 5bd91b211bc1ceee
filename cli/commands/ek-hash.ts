// tpm-quote ek-hash: the value an ek_hash_path allowlist lists and the agent ID ends with.
import { TPM_OPTION_HELP, stringOption, type Command } from '../command';
import { withTpm } from '../io';
import { EK_OPTION_HELP, ekHash, readChosenEk } from './ek';

export const ekHashCommand: Command = {
  name: 'ek-hash',
  summary: 'hex SHA-256 of the EK public key (PKIX DER): the allowlist entry and agent ID suffix',
  help:
    'Usage: tpm-quote ek-hash [--tpm SPEC] [--ek KIND]\n\n' +
    'Prints the lowercase hex SHA-256 of the EK public key in PKIX (SubjectPublicKeyInfo) DER: the line an\n' +
    'ek_hash_path allowlist holds and the last segment of the agent ID (spiffe://TD/spire/agent/tpm_quote/HASH).\n\n' +
    `${TPM_OPTION_HELP}\n${EK_OPTION_HELP}\n`,
  options: { tpm: { type: 'string' }, ek: { type: 'string' } },
  run: (values, io) =>
    withTpm(stringOption(values, 'tpm'), async (tpm) => {
      io.stdout(`${ekHash(await readChosenEk(tpm, values))}\n`);
    }),
};
