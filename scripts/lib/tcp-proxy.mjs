// A loopback TCP proxy spreading connections over several backends (the "one address in front of an HA
// pair" of spire-servers): each new connection goes to the next backend in turn; a backend that refuses
// the connection is skipped for that connection (the next one is tried), so a killed server is routed
// around. Bytes are relayed untouched (TLS passes through).
//
//   node scripts/lib/tcp-proxy.mjs LISTEN_PORT BACKEND_PORT...      (all on 127.0.0.1)
//
// Prints "listening <port>" once ready, then one line per connection: "conn <n> -> <backend port>" or
// "conn <n> -> none (<error>)" when every backend refused.
import net from 'node:net';

const [listenPort, ...backends] = process.argv.slice(2).map(Number);
if (!listenPort || backends.length === 0 || backends.some((p) => !Number.isInteger(p) || p <= 0)) {
  console.error('usage: tcp-proxy.mjs LISTEN_PORT BACKEND_PORT...');
  process.exit(2);
}

let next = 0;
let count = 0;

/** Connect to the backends in turn from `first`, resolving with the first socket that connects. */
function connectAny(first, tried = 0) {
  return new Promise((resolve, reject) => {
    const port = backends[(first + tried) % backends.length];
    const upstream = net.connect({ host: '127.0.0.1', port });
    upstream.once('connect', () => resolve({ upstream, port }));
    upstream.once('error', (err) => {
      upstream.destroy();
      if (tried + 1 >= backends.length) reject(err);
      else connectAny(first, tried + 1).then(resolve, reject);
    });
  });
}

const server = net.createServer((client) => {
  const n = ++count;
  const first = next;
  next = (next + 1) % backends.length;
  client.pause();
  client.on('error', () => client.destroy());
  connectAny(first).then(
    ({ upstream, port }) => {
      console.log(`conn ${n} -> ${port}`);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    },
    (err) => {
      console.log(`conn ${n} -> none (${err.code ?? err.message})`);
      client.destroy();
    },
  );
});
server.listen(listenPort, '127.0.0.1', () => console.log(`listening ${listenPort}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
