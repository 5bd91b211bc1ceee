import { PluginError } from './plugin-error';

/** What SPIRE tells every plugin about itself in Configure/Validate. */
export interface CoreConfig {
  /** Trust domain name, e.g. "example.org". */
  trustDomain: string;
}

/** Outcome of parsing a configuration: the parsed config, or notes naming each bad key. */
export type ConfigResult<C> = { config: C } | { notes: string[] };

/**
 * The plugin's configuration hook: turns (core config, hcl_configuration text) into a
 * parsed config or a list of notes. Must be pure (no side effects): Validate calls it too.
 */
export type ConfigureHook<C> = (core: CoreConfig, hcl: string) => ConfigResult<C>;

/** The configured state plugin code reads; replaced as a whole on each Configure. */
export interface Configured<C> {
  core: CoreConfig;
  config: C;
}

/** Holds the current configuration; swapped atomically by Configure. */
export interface ConfigHolder<C> {
  /** The current configuration; throws FailedPrecondition before the first Configure. */
  current(): Configured<C>;
  /** Runs the hook; Validate's answer. */
  validate(core: CoreConfig, hcl: string): { valid: boolean; notes: string[] };
  /** Runs the hook and swaps in the result; throws InvalidArgument naming the bad keys. */
  configure(core: CoreConfig, hcl: string): Configured<C>;
}

function run<C>(hook: ConfigureHook<C>, core: CoreConfig, hcl: string): ConfigResult<C> {
  if (!core.trustDomain) return { notes: ['trust_domain: missing from the core configuration SPIRE sent'] };
  try {
    return hook(core, hcl);
  } catch (err) {
    if (err instanceof PluginError) return { notes: [err.message] };
    throw err;
  }
}

/** Creates the config holder around a plugin's hook. */
export function createConfigHolder<C>(hook: ConfigureHook<C>): ConfigHolder<C> {
  let state: Configured<C> | undefined;
  return {
    current() {
      if (!state) throw PluginError.failedPrecondition('not configured');
      return state;
    },
    validate(core, hcl) {
      const result = run(hook, core, hcl);
      return 'config' in result ? { valid: true, notes: [] } : { valid: false, notes: result.notes };
    },
    configure(core, hcl) {
      const result = run(hook, core, hcl);
      if (!('config' in result)) {
        throw PluginError.invalidArgument(`invalid configuration: ${result.notes.join('; ')}`);
      }
      const next: Configured<C> = { core: { ...core }, config: result.config };
      state = next; // one reference swap: attestations in flight keep the snapshot they took
      return next;
    },
  };
}
