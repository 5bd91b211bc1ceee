// SPIRE selector values derived from boot facts. Values are fixed words or hex digests, never strings taken
// from the log, so an entry can be written against them and a log cannot make them long.
import { createHash } from 'node:crypto';
import type { BootFacts } from './facts';

/** Selector types this module emits (without the plugin's `tpm_quote:` prefix), for generated docs tables. */
export const BOOT_SELECTOR_TYPES = [
  [
    'secure_boot',
    '`enabled` or `disabled` (PCR 7; `disabled` also when debug mode or another weakening event was measured, or SecureBoot was not measured)',
  ],
  ['secure_boot_pk', 'SHA-256 (hex) of the PK variable contents (PCR 7)'],
  ['secure_boot_kek', 'SHA-256 of the KEK variable contents (PCR 7)'],
  ['secure_boot_db', 'SHA-256 of the db variable contents (PCR 7)'],
  ['secure_boot_dbx', 'SHA-256 of the dbx variable contents (PCR 7)'],
  ['boot_authority', 'SHA-256 of each EFI_SIGNATURE_DATA that verified an image after the separator (PCR 7)'],
  ['boot_app', 'SHA-256 Authenticode digest of each EFI boot application loaded (PCR 4, sha256 bank)'],
  ['kernel_cmdline', 'SHA-256 of the kernel command line grub or systemd-boot measured (PCR 8)'],
  ['kernel', 'SHA-256 of the kernel file grub loaded (PCR 8 and 9, sha256 bank)'],
  ['initrd', 'SHA-256 of each initrd file grub loaded (PCR 8 and 9, sha256 bank)'],
  ['mok', '`<MokList|MokListX|MokListTrusted>:<sha256>`: shim MOK list digests (PCR 14, sha256 bank)'],
] as const;

export type BootSelectorType = (typeof BOOT_SELECTOR_TYPES)[number][0];

const MOK_NAMES = new Set(['MokList', 'MokListX', 'MokListTrusted']);

/**
 * Selectors (`type:value`) for `facts`, sorted and without duplicates. Digest selectors need the sha256 bank:
 * a fact verified only in another bank yields no digest selector. Facts that are absent (their PCR was not
 * quoted and replayed) yield nothing, so an entry on e.g. `secure_boot:enabled` cannot match them.
 */
export function bootSelectors(facts: BootFacts): string[] {
  const out = new Set<string>();
  const add = (type: BootSelectorType, value: string | undefined): void => {
    if (value !== undefined) out.add(`${type}:${value}`);
  };
  const sb = facts.secureBoot;
  if (sb) {
    add('secure_boot', sb.state === 'enabled' ? 'enabled' : 'disabled');
    add('secure_boot_pk', sb.variables.PK);
    add('secure_boot_kek', sb.variables.KEK);
    add('secure_boot_db', sb.variables.db);
    add('secure_boot_dbx', sb.variables.dbx);
    for (const a of sb.authorities) if (a.afterSeparator) add('boot_authority', a.sha256);
  }
  for (const app of facts.bootApps ?? []) add('boot_app', app.digests.sha256);
  if (facts.kernelCmdline !== undefined)
    add('kernel_cmdline', createHash('sha256').update(facts.kernelCmdline, 'utf8').digest('hex'));
  add('kernel', facts.kernel?.digests.sha256);
  for (const f of facts.initrds ?? []) add('initrd', f.digests.sha256);
  for (const m of facts.mok ?? [])
    if (MOK_NAMES.has(m.name) && m.digests.sha256) add('mok', `${m.name}:${m.digests.sha256}`);
  return [...out].sort();
}

/** The selector table of docs/event-log.md (generated; a test keeps the doc current). */
export function renderBootSelectorTable(): string {
  return (
    [
      '| Selector | Value |',
      '|---|---|',
      ...BOOT_SELECTOR_TYPES.map(([t, d]) => `| \`${t}\` | ${d.replace(/\|/g, '\\|')} |`),
    ].join('\n') + '\n'
  );
}
