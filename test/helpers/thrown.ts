// The typed error a call fails with, so a test can assert its code and message together.

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** Calls `f` and returns the `type` error it throws; any other error is rethrown; returning is a failure. */
export function thrown<E>(type: ErrorClass<E>, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`did not throw (expected a ${type.name})`);
}

/** Awaits `p` and returns the `type` error it rejects with; any other error is rethrown; resolving is a failure. */
export async function rejected<E>(type: ErrorClass<E>, p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`did not reject (expected a ${type.name})`);
}
