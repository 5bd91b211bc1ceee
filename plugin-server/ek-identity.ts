// What the server derives from an EK public area at every attestation of that node (its PKIX DER, the EK
// hash naming the agent, its Qualified Name), kept by the exact public area bytes: a node re-attests with
// the same EK, and these are a key export and three hashes each time otherwise.
import {
  createBytesCache,
  ekHashOfPkixDer,
  endorsementQualifiedName,
  KEY_CACHE_ENTRIES,
  type PublicArea,
  publicToPkixDer,
} from '../tpm';

/** An EK's derived values. Shared between attestations: never modify them. */
export interface EkIdentity {
  /** PKIX SubjectPublicKeyInfo DER of the EK (what an EK certificate's key is compared with). */
  pkixDer: Uint8Array;
  /** Hex SHA-256 of `pkixDer`: the agent ID's last segment. */
  hash: string;
  /** The EK's Qualified Name in the endorsement hierarchy; computed on first use (it needs a known nameAlg). */
  qualifiedName(): Uint8Array;
}

const identities = createBytesCache<EkIdentity>(KEY_CACHE_ENTRIES);

/**
 * The EK identity of a decoded EK public area. Throws as publicToPkixDer does for a public area that holds
 * no valid key (such an area is never kept).
 */
export function ekIdentityOf(ek: PublicArea): EkIdentity {
  const key = [ek.bytes];
  const hit = identities.get(key);
  if (hit) return hit;
  const pkixDer = publicToPkixDer(ek.value);
  // Copies: the entry must not hold on to the request the public area was decoded from.
  const { nameAlg } = ek.value;
  const bytes = Uint8Array.from(ek.bytes);
  let qn: Uint8Array | undefined;
  const identity: EkIdentity = {
    pkixDer,
    hash: ekHashOfPkixDer(pkixDer),
    qualifiedName: () => (qn ??= endorsementQualifiedName(nameAlg, bytes)),
  };
  identities.set(key, identity);
  return identity;
}
