/**
 * How many bytes a character V8 stores a string with: 1 (Latin-1) or 2. Read from V8's own
 * serializer (`v8.serialize`), which writes a one-byte string with tag `"` and a two-byte one with
 * tag `c`, after its header and any padding: the width is what makes a string's copies and
 * encodes cheap or not (src/map-worker/worker.ts), and no other public API tells it.
 */
import { serialize } from 'node:v8';

const ONE_BYTE_TAG = 0x22;
const TWO_BYTE_TAG = 0x63;
const PADDING = 0x00;

export function stringWidth(text: string): 1 | 2 {
  const bytes = serialize(text);
  let at = 2; // 0xFF and the format version (one byte up to 127)
  while (bytes[at] === PADDING) at++;
  if (bytes[at] === ONE_BYTE_TAG) return 1;
  if (bytes[at] === TWO_BYTE_TAG) return 2;
  throw new Error(`Unexpected V8 serializer tag ${bytes[at]} for a string.`);
}
