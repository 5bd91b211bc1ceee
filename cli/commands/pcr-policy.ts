// tpm-quote pcr-policy: a Keylime tpm_policy (the server's pcr_policy_path) allowing the TPM's current PCRs.
import { DEFAULT_PCR_SELECTION, hashInfo, parsePcrSelection, selectedPcrs } from '../../tpm';
import { formatTpmPolicy, IMA_PCR, parseTpmPolicy } from '../../verifier-client';
import { TPM_OPTION_HELP, stringOption, type Command } from '../command';
import { usageError } from '../exit-codes';
import { hex, withTpm, writeOutput } from '../io';

export const pcrPolicyCommand: Command = {
  name: 'pcr-policy',
  summary: "a Keylime tpm_policy JSON (pcr_policy_path) from the TPM's current PCRs",
  help:
    'Usage: tpm-quote pcr-policy [--tpm SPEC] [--pcrs SELECTION] [--out FILE]\n\n' +
    'Reads the selected PCRs and writes a Keylime tpm_policy allowing exactly their current values: the file\n' +
    "the server's pcr_policy_path takes. A tpm_policy holds one bank, and never PCR 10 (Keylime's IMA PCR).\n\n" +
    `${TPM_OPTION_HELP}\n` +
    `  --pcrs SELECTION the server's pcr_selection syntax, one bank (default "${DEFAULT_PCR_SELECTION}")\n` +
    '  --out FILE       write the policy there instead of stdout\n',
  options: { tpm: { type: 'string' }, pcrs: { type: 'string' }, out: { type: 'string' } },
  async run(values, io) {
    const text = stringOption(values, 'pcrs') ?? DEFAULT_PCR_SELECTION;
    const selection = parsePcrSelection(text);
    if (typeof selection === 'string') throw usageError(`--pcrs: ${selection}`);
    if (selection.length !== 1)
      throw usageError(`--pcrs: a tpm_policy holds one bank, "${text}" selects ${selection.length}`);
    const bank = hashInfo(selection[0].hash).name;
    if (selectedPcrs(selection[0]).includes(IMA_PCR))
      throw usageError(`--pcrs: PCR ${IMA_PCR} is Keylime's IMA PCR and cannot be in a tpm_policy`);
    const values_ = await withTpm(stringOption(values, 'tpm'), (tpm) => tpm.readPcrs(selection));
    const doc = Object.entries(values_[bank] ?? {}).map(([pcr, v]) => [pcr, [hex(v)]] as const);
    // Through the server's own parser: what is written is a policy the server loads.
    const policy = parseTpmPolicy(JSON.stringify(Object.fromEntries(doc)), { hashAlg: bank, source: '(generated)' });
    writeOutput(io, stringOption(values, 'out'), `${formatTpmPolicy(policy)}\n`);
  },
};
