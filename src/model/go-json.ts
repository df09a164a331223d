// A JSON reader that sees keys as the registry sees them, and then some.
//
// The registry decodes manifests with Go's encoding/json (Go 1.19 in
// Debian's 2.8.2), which matches an object key to a field case-insensitively,
// also folding U+017F (long s) to `s` and U+212A (Kelvin sign) to `k`, after
// decoding `\u` escapes; when several keys of one object match one field,
// the last one in the document wins, duplicates of the very same spelling
// included. 2.8.2 accepts, stores and serves all of these (checked by
// test/hostile/manifests-case-variants.test.ts): "Layers", "MANIFESTS",
// "Subject", "Digest", "layerſ", "\u006cayers", two "layers" keys.
// JSON.parse sees only the last of two identical keys, so a small tolerant
// reader (readJsonTree) keeps every key/value pair, in document order, and
// findVariants() gives every member Go would decode into one field.
// manifest.ts reads the manifest's fields through it.

/** A JSON object with its members in document order, duplicates kept. */
export class JsonObject {
  constructor(readonly members: [string, JsonValue][]) {}
}

/** A container nested deeper than any field the janitor reads. */
export const UNREAD: unique symbol = Symbol('unread');

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject | typeof UNREAD;

// Containers deeper than this are skipped, not built: the deepest field read
// is manifests[i].platform.os (depth 4), and skipping keeps the reader's
// recursion bounded on hostile nesting.
const MAX_BUILT_DEPTH = 4;

/**
 * Reads text that JSON.parse has already accepted into a tree that keeps
 * duplicate keys. Containers below MAX_BUILT_DEPTH become UNREAD.
 */
export function readJsonTree(text: string): JsonValue {
  let at = 0;
  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else return;
    }
  };
  // The next backslash at or after `at` (-1: none left), kept so that
  // plain strings are found with one native indexOf each.
  let nextBackslash = text.indexOf('\\');
  const readString = (): string => {
    const start = at; // at the opening quote
    let end = text.indexOf('"', start + 1);
    if (nextBackslash >= 0 && nextBackslash < start) nextBackslash = text.indexOf('\\', start);
    if (nextBackslash < 0 || nextBackslash > end) {
      at = end + 1;
      return text.slice(start + 1, end);
    }
    end = start + 1;
    for (;;) {
      const c = text.charCodeAt(end);
      if (c === 0x22) break;
      end += c === 0x5c ? 2 : 1;
    }
    at = end + 1;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const skipContainer = (): void => {
    let depth = 0;
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        readString();
        continue;
      }
      at++;
      if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) return;
    }
  };
  const readValue = (depth: number): JsonValue => {
    skipSpace();
    const c = text.charCodeAt(at);
    if (c === 0x22) return readString();
    if (c === 0x7b || c === 0x5b) {
      if (depth > MAX_BUILT_DEPTH) {
        skipContainer();
        return UNREAD;
      }
      at++;
      skipSpace();
      if (c === 0x5b) {
        const items: JsonValue[] = [];
        if (text.charCodeAt(at) === 0x5d) {
          at++;
          return items;
        }
        for (;;) {
          items.push(readValue(depth + 1));
          skipSpace();
          if (text.charCodeAt(at++) === 0x5d) return items; // else ','
        }
      }
      const members: [string, JsonValue][] = [];
      if (text.charCodeAt(at) === 0x7d) {
        at++;
        return new JsonObject(members);
      }
      for (;;) {
        skipSpace();
        const key = readString();
        skipSpace();
        at++; // ':'
        members.push([key, readValue(depth + 1)]);
        skipSpace();
        if (text.charCodeAt(at++) === 0x7d) return new JsonObject(members); // else ','
      }
    }
    if (c === 0x74) {
      at += 4;
      return true;
    }
    if (c === 0x66) {
      at += 5;
      return false;
    }
    if (c === 0x6e) {
      at += 4;
      return null;
    }
    const start = at;
    for (;;) {
      const d = text.charCodeAt(at);
      // digits, '+', '-', '.', 'e', 'E'
      if ((d >= 0x30 && d <= 0x39) || d === 0x2b || d === 0x2d || d === 0x2e || d === 0x65 || d === 0x45) at++;
      else break;
    }
    return Number(text.slice(start, at));
  };
  return readValue(0);
}

/** The key as Go 1.19's encoding/json compares it with an ASCII field name. */
export function foldKey(key: string): string {
  // toLowerCase maps U+212A (Kelvin) to 'k'; U+017F (long s) stays and is mapped here.
  const lower = key.toLowerCase();
  // The replace only where there is a long s: this runs for every camelCase
  // key read (mediaType, schemaVersion, blobSum), and the regex replace made
  // reading a 2 KB manifest ~2x slower (19.7 µs against 10.8 µs).
  return lower.includes('\u017f') ? lower.replace(/\u017f/g, 's') : lower;
}

export interface Variant {
  /** the key as spelled in the document, for error messages. */
  key: string;
  value: JsonValue;
}

/** Every member whose key Go would decode into `field` (lowercase), in document order. */
export function findVariants(object: JsonObject, field: string): Variant[] {
  const out: Variant[] = [];
  for (const [key, value] of object.members) {
    // Every key that folds to an ASCII name has its length in UTF-16 units.
    if (key.length === field.length && (key === field || foldKey(key) === field)) out.push({ key, value });
  }
  return out;
}
