// Stands in for @grpc/proto-loader in the plugin bundles (scripts/build.mjs). grpc-js requires it only
// inside its channelz admin service and ORCA client, which the plugins never use, and which could not
// work from a bundle anyway (they read .proto files from node_modules). Leaving it out drops protobufjs
// and its helpers, a fifth of each bundle that V8 parsed at every start.
'use strict';
exports.loadSync = () => {
  throw new Error('@grpc/proto-loader is not bundled with the tpm_quote plugins (channelz/ORCA are not served)');
};
