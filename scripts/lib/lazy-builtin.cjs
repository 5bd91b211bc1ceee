// Stands in, in the plugin bundles (scripts/build.mjs), for node modules that grpc-js requires at load
// but only uses on paths a go-plugin server over a unix socket does not take at start: `dns` (its
// resolver, for client channels) and `zlib` (compressed messages). The stand-in loads the real module on
// first use, so a compressed message from SPIRE still works; until then a start does not load them.
'use strict';
/** An object that behaves as the module `load()` returns, calling `load` only on first use. */
module.exports = (load) => {
  let real;
  const target = () => (real ??= load());
  return new Proxy(
    {},
    {
      get: (_, key) => target()[key],
      has: (_, key) => key in target(),
      ownKeys: () => Reflect.ownKeys(target()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(target(), key);
        // A proxy may not report a property non-configurable that its (empty) target lacks.
        return d && { ...d, configurable: true };
      },
    },
  );
};
