import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { ConnInfoSchema } from '../../../proto/gen/plugin/grpc_broker_pb';
import { AgentStore } from '../../../proto/gen/spire/hostservice/server/agentstore/v1/agentstore_pb';
import { Metrics } from '../../../proto/gen/spire/hostservice/common/metrics/v1/metrics_pb';
import { createBrokerState } from '../../../plugin-sdk/host-services';

const info = (serviceId: number, address = '/tmp/h.sock') =>
  create(ConnInfoSchema, { serviceId, network: 'unix', address });

describe('broker state', () => {
  test('connInfo resolves for an id recorded earlier or later, not for others', async () => {
    const b = createBrokerState();
    b.record(info(2));
    await expect(b.connInfo(2, 10)).resolves.toMatchObject({ serviceId: 2 });
    const later = b.connInfo(1, 1_000);
    b.record(info(3));
    b.record(info(1, '/x'));
    await expect(later).resolves.toMatchObject({ serviceId: 1, address: '/x' });
  });

  test('waiting is bounded: Unavailable naming the service id', async () => {
    const b = createBrokerState();
    await expect(b.connInfo(1, 50)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      message: 'go-plugin broker: no connection info for service 1 within 50 ms',
    });
  });

  test('client() waits for service 1 and rejects with Unavailable when it never comes', async () => {
    const b = createBrokerState();
    await expect(b.client(AgentStore, { timeoutMs: 30 })).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  test('client() refuses a network it cannot dial', async () => {
    const b = createBrokerState();
    b.record(create(ConnInfoSchema, { serviceId: 1, network: 'udp', address: 'x' }));
    await expect(b.client(AgentStore)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      message: expect.stringMatching(/unsupported network/),
    });
  });

  test('offers() follows the names from Init', () => {
    const b = createBrokerState();
    expect(b.offers(Metrics)).toBe(false);
    b.setNames(['spire.hostservice.common.metrics.v1.Metrics']);
    expect(b.offers(Metrics)).toBe(true);
    expect(b.offers(AgentStore)).toBe(false);
    expect(b.names).toEqual(['spire.hostservice.common.metrics.v1.Metrics']);
  });
});
