// A service as the gRPC server registers it: type name and methods, known without protobuf-es building any
// descriptor. proto/gen/services.ts (generated with proto/gen, scripts/generate-service-table.mjs) holds one
// for every generated service; `load` requires the descriptor module, whose top-level code builds the
// descriptors, on the first call that needs them (after the go-plugin handshake).
import type { DescMethod, DescService } from '@bufbuild/protobuf';

export interface StaticMethod {
  /** The method name in the .proto file (the gRPC path's last part). */
  readonly name: string;
  /** The key of its implementation. */
  readonly localName: string;
  readonly methodKind: DescMethod['methodKind'];
}

/** `S` is the descriptor's type, so implementations and clients stay typed by it. */
export interface StaticService<S extends DescService = DescService> {
  readonly typeName: string;
  readonly methods: readonly StaticMethod[];
  /** The protobuf-es descriptor (built on the first call; Node caches the module). */
  load(): S;
}
