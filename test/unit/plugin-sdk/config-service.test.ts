import { status } from '@grpc/grpc-js';
import { createConfigHolder, type ConfigureHook } from '../../../plugin-sdk/config-service';
import { PluginError } from '../../../plugin-sdk/plugin-error';

const core = { trustDomain: 'example.org' };
const hook: ConfigureHook<{ n: number }> = (_core, hcl) =>
  hcl.startsWith('n=') ? { config: { n: Number(hcl.slice(2)) } } : { notes: ['n: missing', 'x: unknown key'] };

describe('config holder', () => {
  test('current() before Configure is FailedPrecondition', () => {
    const h = createConfigHolder(hook);
    expect(() => h.current()).toThrow(
      expect.objectContaining({ code: status.FAILED_PRECONDITION, message: 'not configured' }),
    );
  });

  test('Validate returns notes and never changes state', () => {
    const h = createConfigHolder(hook);
    expect(h.validate(core, 'bad')).toEqual({ valid: false, notes: ['n: missing', 'x: unknown key'] });
    expect(h.validate(core, 'n=1')).toEqual({ valid: true, notes: [] });
    expect(() => h.current()).toThrow(PluginError);
  });

  test('Configure swaps the whole state; earlier snapshots are unchanged', () => {
    const h = createConfigHolder(hook);
    h.configure(core, 'n=1');
    const snapshot = h.current();
    h.configure({ trustDomain: 'other.org' }, 'n=2');
    expect(snapshot).toEqual({ core: { trustDomain: 'example.org' }, config: { n: 1 } });
    expect(h.current()).toEqual({ core: { trustDomain: 'other.org' }, config: { n: 2 } });
  });

  test('a failed Configure is InvalidArgument naming the keys and keeps the old state', () => {
    const h = createConfigHolder(hook);
    h.configure(core, 'n=1');
    expect(() => h.configure(core, 'bad')).toThrow(
      expect.objectContaining({
        code: status.INVALID_ARGUMENT,
        message: 'invalid configuration: n: missing; x: unknown key',
      }),
    );
    expect(h.current().config).toEqual({ n: 1 });
  });

  test('an empty trust domain is refused before the hook runs', () => {
    const calls: string[] = [];
    const h = createConfigHolder<Record<string, never>>((_c, hcl) => {
      calls.push(hcl);
      return { config: {} };
    });
    expect(h.validate({ trustDomain: '' }, '')).toEqual({
      valid: false,
      notes: ['trust_domain: missing from the core configuration SPIRE sent'],
    });
    expect(calls).toEqual([]);
  });

  test('a PluginError thrown by the hook becomes a note; other errors propagate', () => {
    const h = createConfigHolder<Record<string, never>>(() => {
      throw PluginError.invalidArgument('ek_ca_path: cannot read');
    });
    expect(h.validate(core, '')).toEqual({ valid: false, notes: ['ek_ca_path: cannot read'] });
    const h2 = createConfigHolder<Record<string, never>>(() => {
      throw new TypeError('bug');
    });
    expect(() => h2.validate(core, '')).toThrow(TypeError);
  });
});
