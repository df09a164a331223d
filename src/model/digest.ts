// Content digests as the registry writes them: "<algorithm>:<lowercase hex>".
// Distribution only ever computes sha256, but a tree can carry sha384/sha512
// blobs pushed by other tools, so all three are accepted and validated.

export type Algorithm = 'sha256' | 'sha384' | 'sha512';

/** A validated digest string, e.g. "sha256:4f…". Only parseDigest makes one. */
export type Digest = string & { readonly __digest: unique symbol };

export const HEX_LENGTH: Readonly<Record<Algorithm, number>> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

export function isAlgorithm(value: string): value is Algorithm {
  return Object.prototype.hasOwnProperty.call(HEX_LENGTH, value);
}

/** Lowercase hex of the algorithm's length. A char-code loop: called for
 * every listed blob, revision and layer link (~2M on a 1M-blob tree), where
 * a regex test cost ~0.8 s. */
export function isHexFor(algorithm: Algorithm, hex: string): boolean {
  if (hex.length !== HEX_LENGTH[algorithm]) return false;
  for (let i = 0; i < hex.length; i++) {
    const c = hex.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Parses "alg:hex"; returns undefined for anything else (no trimming). */
export function parseDigest(text: string): Digest | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!isAlgorithm(algorithm) || !isHexFor(algorithm, hex)) return undefined;
  return text as Digest;
}

export function makeDigest(algorithm: Algorithm, hex: string): Digest | undefined {
  return isHexFor(algorithm, hex) ? (`${algorithm}:${hex}` as Digest) : undefined;
}

export function splitDigest(digest: Digest): { algorithm: Algorithm; hex: string } {
  const colon = digest.indexOf(':');
  return { algorithm: digest.slice(0, colon) as Algorithm, hex: digest.slice(colon + 1) };
}

/** A blob shard's name (blobs/<alg>/<shard>/): the first two hex characters of the digests in it. */
export function shardOf(hex: string): string {
  return hex.slice(0, 2);
}
