import { createHash } from 'node:crypto';

/** A sha256 being computed over bytes given in order, here or on another thread; `digest` ends it. */
export interface RunningHash {
  update(bytes: Uint8Array): void;
  digest(): Promise<string>;
}

/** A running sha256 on the calling thread. */
export function localHash(): RunningHash {
  const hash = createHash('sha256');
  return { update: (bytes) => hash.update(bytes), digest: async () => hash.digest('hex') };
}
