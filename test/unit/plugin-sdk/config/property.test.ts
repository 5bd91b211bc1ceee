// build() never throws for any text or trust domain: every outcome is a config or notes.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigureHook } from '../../../../plugin-sdk/config-service';
import {
  ConfigOf,
  bool,
  defineConfig,
  duration,
  enumOf,
  int,
  list,
  object,
  string,
} from '../../../../plugin-sdk/config';
import { rng } from '../../../helpers/rng';

const SEED = Number(process.env.HCL_PROPERTY_SEED ?? 20261128);

const schema = defineConfig({
  ek_algorithm: enumOf(['rsa', 'ecc']).default('rsa'),
  pcrs: list(int({ min: 0, max: 23 }), { unique: true }).default([0, 7]),
  verifier: object({ url: string(), timeout: duration().default('5s'), strict: bool().default(true) }).optional(),
  tags: list(string()).default([]),
});

// The builder plugs straight into the SDK's Configure/Validate hook.
const hook: ConfigureHook<ConfigOf<typeof schema>> = (core, hcl) => schema.build(core.trustDomain, hcl);

describe(`config build property (HCL_PROPERTY_SEED=${SEED})`, () => {
  it('returns a config or notes, never throws, for mutated fixtures', () => {
    const r = rng(SEED);
    const dir = join(__dirname, '../../../fixtures/hcl');
    const seeds = readdirSync(dir)
      .filter((f) => f.endsWith('.hcl'))
      .map((f) => readFileSync(join(dir, f), 'utf8'));
    seeds.push(
      'ek_algorithm = "ecc"\npcrs = [0, 1]\nverifier {\n  url = "https://v"\n  timeout = "1s"\n}\ntags = ["a"]',
    );
    seeds.push('{"pcrs": [7], "verifier": {"url": "u", "strict": false}}');
    const pieces = [
      '"',
      '[',
      ']',
      '{',
      '}',
      '=',
      ',',
      '\n',
      '24',
      '-1',
      '"1s"',
      'true',
      'verifier',
      'pcrs',
      '__proto__',
      'constructor',
      'toString',
    ];
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      let text = seeds[Math.floor(r() * seeds.length)];
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) {
        const at = Math.floor(r() * (text.length + 1));
        const piece = pieces[Math.floor(r() * pieces.length)];
        text =
          r() < 0.5
            ? text.slice(0, at) + piece + text.slice(at)
            : text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 5));
      }
      const td = r() < 0.9 ? 'example.org' : 'Bad Domain';
      const result = hook({ trustDomain: td }, text);
      if ('config' in result) {
        ok++;
        expect(Object.isFrozen(result.config)).toBe(true);
      } else {
        refused++;
        expect(result.notes.length).toBeGreaterThan(0);
        for (const note of result.notes) expect(typeof note).toBe('string');
      }
    }
    expect(ok).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(500);
  });

  it('does not treat Object.prototype names as known keys', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const result = schema.build('example.org', `${key} = 1`);
      expect(result).toEqual({ ok: false, notes: [expect.stringMatching(new RegExp(`^unknown key "${key}" `))] });
    }
  });
});
