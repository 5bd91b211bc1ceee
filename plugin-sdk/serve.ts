import * as grpc from '@grpc/grpc-js';
import type { DescService } from '@bufbuild/protobuf';
import type { ConnInfo } from '../proto/gen/plugin/grpc_broker_pb';
import type { HealthCheckResponse_ServingStatus } from '../proto/gen/grpc/health/v1/health_pb';
import { services } from '../proto/gen/services';
import { addService, type AnyService, type CallContext, type ServiceImpl } from './grpc-adapter';
import { checkHost, createSocketDir, handshakeLine, HandshakeRefused, type SocketDir } from './handshake';
import { createBrokerState, type HostServices } from './host-services';
import { createConfigHolder, type ConfigureHook, type Configured } from './config-service';
import { createLogger, type Logger } from './logger';
import { PluginError } from './plugin-error';
import { installStdoutGuard, writeHandshakeLine } from './stdout-guard';

/** What plugin code gets from serve(). */
export interface PluginContext<C> {
  logger: Logger;
  /** The current configuration; throws FailedPrecondition (a PluginError) before Configure. */
  configured(): Configured<C>;
  hostServices: HostServices;
}

/** Options for serve(). */
/** The SPIRE plugin services a plugin may implement, by type name. */
export type PluginServiceName =
  'spire.plugin.agent.nodeattestor.v1.NodeAttestor' | 'spire.plugin.server.nodeattestor.v1.NodeAttestor';

export interface ServeOptions<C, N extends PluginServiceName> {
  /** go-plugin plugin type, also the magic cookie key and value. */
  pluginType: 'NodeAttestor';
  /** The SPIRE plugin service this side implements (agent or server NodeAttestor v1). */
  service: N;
  /**
   * Builds the service implementation, on the service's first call (after the handshake: what it loads
   * need not delay the start).
   */
  implement: (ctx: PluginContext<C>) => ServiceImpl<(typeof services)[N]>;
  /** Parses the configuration (see ConfigureHook); may load what it needs on its first call, like `implement`. */
  configure: ConfigureHook<C>;
  /** Called after each successful Configure (e.g. to apply a log level). */
  onConfigured?: (configured: Configured<C>, ctx: PluginContext<C>) => void;
  /** Called once the host's broker announces the host-services server (service id 1). */
  onHostServices?: (ctx: PluginContext<C>) => void | Promise<void>;
  /** Logger to use; default createLogger(). */
  logger?: Logger;
}

/** Time allowed for cleanup before the process exits regardless. */
const EXIT_DEADLINE_MS = 1_000;

// The go-plugin and SPIRE services every plugin serves: method tables whose descriptors are built on their
// first call (proto/gen/services.ts), so that none is built before the handshake.
const GRPCBroker = services['plugin.GRPCBroker'];
const GRPCController = services['plugin.GRPCController'];
const GRPCStdio = services['plugin.GRPCStdio'];
const Health = services['grpc.health.v1.Health'];
const Init = services['spire.service.private.init.v1.Init'];
const Config = services['spire.service.common.config.v1.Config'];
// grpc.health.v1.HealthCheckResponse.ServingStatus values (health.proto).
const SERVING = 1 as HealthCheckResponse_ServingStatus.SERVING;
const SERVICE_UNKNOWN = 3 as HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;

const CONFIG_SERVICE_NAME = Config.typeName;

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A response stream that sends nothing and ends once `signal` aborts (go-plugin's broker and stdio streams). */
function silentUntilAborted(signal: AbortSignal): AsyncIterable<never> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<never>> => {
        await aborted(signal);
        return { done: true, value: undefined };
      },
    }),
  };
}

/**
 * Serves a SPIRE plugin over hashicorp go-plugin (gRPC, plaintext, unix socket) in
 * this process: checks the magic cookie (else explains on stderr and exits 1),
 * listens on a socket in a fresh 0700 directory, prints the handshake line as the
 * only stdout output, and serves the broker, controller, stdio, health, SPIRE Init
 * and Config services beside the plugin's own service. Controller Shutdown and
 * SIGTERM exit the process within ~1 s, removing the socket directory; SIGINT is
 * ignored (the host orchestrates shutdown). Returns once the handshake is printed.
 */
export async function serve<C, N extends PluginServiceName>(options: ServeOptions<C, N>): Promise<void> {
  installStdoutGuard();
  try {
    checkHost(options.pluginType);
  } catch (err) {
    if (err instanceof HandshakeRefused) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const logger = options.logger ?? createLogger();
  const broker = createBrokerState();
  const config = createConfigHolder(options.configure);
  const ctx: PluginContext<C> = { logger, configured: () => config.current(), hostServices: broker };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const onError = (method: string, err: unknown) => {
    if (err instanceof PluginError) {
      logger.debug('RPC failed', { method, code: grpc.status[err.code], error: err.message });
    } else {
      logger.error('RPC failed with an unexpected error', {
        method,
        error: String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
    }
  };

  let socketDir: SocketDir | undefined;
  let exiting = false;
  const exit = (reason: string, code = 0) => {
    if (exiting) return;
    exiting = true;
    logger.debug('plugin exiting', { reason });
    // Whatever happens below, the process is gone well within go-plugin's 2 s.
    setTimeout(() => process.exit(code), EXIT_DEADLINE_MS).unref();
    try {
      broker.close();
      server.forceShutdown();
    } finally {
      socketDir?.remove();
      process.exit(code);
    }
  };

  let hostServicesAnnounced = false;
  const onConnInfo = (info: ConnInfo) => {
    broker.record(info);
    logger.debug('go-plugin broker connection info', {
      service_id: info.serviceId,
      network: info.network,
      address: info.address,
    });
    if (info.serviceId === 1 && !hostServicesAnnounced && options.onHostServices) {
      hostServicesAnnounced = true;
      Promise.resolve()
        .then(() => options.onHostServices?.(ctx))
        .catch((err) => logger.warn('host services hook failed', { error: String(err) }));
    }
  };

  addService(
    server,
    GRPCBroker,
    {
      startStream(requests: AsyncIterable<ConnInfo>, call: CallContext) {
        // Read ConnInfos in the background; the response stream stays open until cancelled.
        void (async () => {
          try {
            for await (const info of requests) onConnInfo(info);
          } catch {
            // cancelled or the host went away: nothing to do
          }
        })();
        return silentUntilAborted(call.signal);
      },
    },
    onError,
  );
  addService(
    server,
    GRPCController,
    {
      async shutdown() {
        // Answer first; go-plugin treats a failed Shutdown call as an ungraceful exit.
        setTimeout(() => exit('controller shutdown'), 50);
        return {};
      },
    },
    onError,
  );
  addService(
    server,
    GRPCStdio,
    {
      streamStdio(_request, call) {
        return silentUntilAborted(call.signal);
      },
    },
    onError,
  );
  const healthOf = (service: string) => (service === '' || service === 'plugin' ? SERVING : SERVICE_UNKNOWN);
  addService(
    server,
    Health,
    {
      async check(request) {
        const status = healthOf(request.service);
        if (status === SERVICE_UNKNOWN) {
          throw new PluginError(grpc.status.NOT_FOUND, `unknown service ${JSON.stringify(request.service)}`);
        }
        return { status };
      },
      async *watch(request, call) {
        yield { status: healthOf(request.service) };
        await aborted(call.signal);
      },
    },
    onError,
  );
  addService(
    server,
    Init,
    {
      async init(request) {
        broker.setNames(request.hostServiceNames);
        logger.debug('plugin initialised', { host_services: request.hostServiceNames.join(',') });
        return { pluginServiceNames: [options.service, CONFIG_SERVICE_NAME] };
      },
      async deinit() {
        logger.debug('plugin deinitialised');
        return {};
      },
    },
    onError,
  );
  addService(
    server,
    Config,
    {
      async configure(request) {
        const core = { trustDomain: request.coreConfiguration?.trustDomain ?? '' };
        let configured: Configured<C>;
        try {
          configured = config.configure(core, request.hclConfiguration);
        } catch (err) {
          if (err instanceof PluginError) logger.warn('configuration refused', { error: err.message });
          throw err;
        }
        options.onConfigured?.(configured, ctx);
        logger.debug('plugin configured', { trust_domain: core.trustDomain });
        return {};
      },
      async validate(request) {
        const core = { trustDomain: request.coreConfiguration?.trustDomain ?? '' };
        return config.validate(core, request.hclConfiguration);
      },
    },
    onError,
  );
  const service: AnyService<DescService> = services[options.service];
  addService(server, service, () => options.implement(ctx) as ServiceImpl<DescService>, onError);

  socketDir = createSocketDir();
  const dir = socketDir;
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${dir.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    );
  }).catch((err) => {
    dir.remove();
    process.stderr.write(`cannot listen on ${dir.socketPath}: ${(err as Error).message}\n`);
    process.exit(1);
  });

  process.on('SIGINT', () => logger.debug('ignoring SIGINT; the plugin host orchestrates shutdown'));
  process.on('SIGTERM', () => exit('SIGTERM'));
  process.on('uncaughtException', (err) => {
    logger.error('uncaught exception', { error: err.message, stack: err.stack });
    exit('uncaught exception', 1);
  });

  writeHandshakeLine(handshakeLine(dir.socketPath));
  logger.info('plugin serving', { service: options.service, pid: process.pid, node_version: process.version });
}
