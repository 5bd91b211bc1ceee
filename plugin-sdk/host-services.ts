import type { DescService } from '@bufbuild/protobuf';
import type { Client } from '@grpc/grpc-js';
import type { ConnInfo } from '../proto/gen/plugin/grpc_broker_pb';
import { createServiceClient, dialInsecure, grpcTarget, type AnyService, type ServiceClient } from './grpc-adapter';
import { PluginError } from './plugin-error';

/** go-plugin broker id under which SPIRE serves its host services. */
export const HOST_SERVICES_BROKER_ID = 1;

/** Default bound on waiting for the host-services ConnInfo. */
export const DEFAULT_HOST_SERVICES_TIMEOUT_MS = 10_000;

/**
 * Access to the services SPIRE offers the plugin (AgentStore, Metrics, ...), reached
 * through the go-plugin broker. SPIRE may send the broker ConnInfo before or after
 * Init, so every accessor waits (bounded) for it.
 */
export interface HostServices {
  /** Names the host listed in Init (empty until Init). */
  readonly names: readonly string[];
  /** True when the host listed `service` in Init. */
  offers(service: { readonly typeName: string }): boolean;
  /**
   * A typed client for a host service; waits up to `timeoutMs` (default 10 s) for
   * broker service 1. Rejects with Unavailable when it does not arrive.
   */
  client<S extends DescService>(service: AnyService<S>, options?: { timeoutMs?: number }): Promise<ServiceClient<S>>;
}

/** The broker's record of ConnInfos, plus the host-services dialer built on it. */
export interface BrokerState extends HostServices {
  /** Records a ConnInfo received on StartStream. */
  record(info: ConnInfo): void;
  /** Resolves with the ConnInfo for `serviceId`, or rejects after `timeoutMs`. */
  connInfo(serviceId: number, timeoutMs: number): Promise<ConnInfo>;
  setNames(names: readonly string[]): void;
  /** Closes dialed channels. */
  close(): void;
}

/** Creates the broker state shared by the GRPCBroker service and plugin code. */
export function createBrokerState(): BrokerState {
  const infos = new Map<number, ConnInfo>();
  const waiters = new Map<number, Array<(info: ConnInfo) => void>>();
  const channels = new Map<string, Client>();
  let names: readonly string[] = [];

  const connInfo = (serviceId: number, timeoutMs: number): Promise<ConnInfo> => {
    const known = infos.get(serviceId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = waiters.get(serviceId) ?? [];
        waiters.set(
          serviceId,
          list.filter((w) => w !== onInfo),
        );
        reject(
          PluginError.unavailable(
            `go-plugin broker: no connection info for service ${serviceId} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      const onInfo = (info: ConnInfo) => {
        clearTimeout(timer);
        resolve(info);
      };
      waiters.set(serviceId, [...(waiters.get(serviceId) ?? []), onInfo]);
    });
  };

  return {
    get names() {
      return names;
    },
    setNames(next) {
      names = [...next];
    },
    offers: (service) => names.includes(service.typeName),
    record(info) {
      infos.set(info.serviceId, info);
      const list = waiters.get(info.serviceId) ?? [];
      waiters.delete(info.serviceId);
      for (const w of list) w(info);
    },
    connInfo,
    async client(service, options) {
      const info = await connInfo(HOST_SERVICES_BROKER_ID, options?.timeoutMs ?? DEFAULT_HOST_SERVICES_TIMEOUT_MS);
      let target: string;
      try {
        target = grpcTarget(info.network, info.address);
      } catch (err) {
        throw PluginError.unavailable(`go-plugin broker: service ${info.serviceId}: ${(err as Error).message}`, err);
      }
      let channel = channels.get(target);
      if (!channel) {
        channel = dialInsecure(target);
        channels.set(target, channel);
      }
      return createServiceClient(service, channel);
    },
    close() {
      for (const channel of channels.values()) channel.close();
      channels.clear();
    },
  };
}
