/**
 * The certificate and key files of the configuration, checked when it is loaded rather than at
 * the first TLS handshake (which may be hours later, or only in production): each must be a
 * readable regular file holding PEM that node:crypto loads, certificates parse as X.509, a key
 * is a private key, and the SMTP key belongs to its certificate. A directory or a DER file given
 * as `THEHIVE_CA_FILE` used to pass `check-config`. Messages never quote the file's content.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

/** A CA bundle with every public root is about 200 KiB; a larger file is not a certificate file. */
const MAX_PEM_BYTES = 1024 * 1024;

/** A PEM block: its label and the whole block. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/** A file's problem, phrased to follow "key: ". */
export type FileCheck<T> = { ok: true; value: T } | { ok: false; problem: string };

/** The certificates of a PEM file (a CA bundle or a chain), or what is wrong with it. */
export function readCertificates(file: string): FileCheck<X509Certificate[]> {
  const read = readPemText(file);
  if (!read.ok) return read;
  const blocks = [...read.value.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) return { ok: false, problem: `${file} holds no PEM block: give the certificate in PEM form (-----BEGIN CERTIFICATE-----; \`openssl x509 -inform der -in FILE -out FILE.pem\` converts a DER file)` };
  const certs = blocks.filter((b) => b[1] === 'CERTIFICATE');
  if (certs.length === 0) return { ok: false, problem: `${file} holds no CERTIFICATE block (it holds ${labels(blocks)}): give the certificate, not a key or a request` };
  const parsed: X509Certificate[] = [];
  for (const [i, block] of certs.entries()) {
    try {
      parsed.push(new X509Certificate(block[0]));
    } catch (err) {
      return { ok: false, problem: `${file}: CERTIFICATE block ${i + 1} cannot be read as a certificate (${(err as Error).message})` };
    }
  }
  return { ok: true, value: parsed };
}

/** The private key of a PEM file, or what is wrong with it. */
export function readPrivateKey(file: string): FileCheck<KeyObject> {
  const read = readPemText(file);
  if (!read.ok) return read;
  const blocks = [...read.value.matchAll(PEM_BLOCK)];
  if (!blocks.some((b) => b[1]?.endsWith('PRIVATE KEY'))) {
    const found = blocks.length === 0 ? 'no PEM block' : labels(blocks);
    return { ok: false, problem: `${file} holds no private key (it holds ${found}): give the PEM private key (-----BEGIN PRIVATE KEY-----)` };
  }
  try {
    return { ok: true, value: createPrivateKey(read.value) };
  } catch (err) {
    return { ok: false, problem: `${file}: the private key cannot be loaded (${(err as Error).message}); an encrypted key must be decrypted first (\`openssl pkey -in FILE -out FILE.plain\`)` };
  }
}

/** Whether `key` belongs to the first certificate (the server's own, before its chain). */
export function keyMatches(certs: readonly X509Certificate[], key: KeyObject): boolean {
  return certs[0]?.checkPrivateKey(key) ?? false;
}

function readPemText(file: string): FileCheck<string> {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (err) {
    return { ok: false, problem: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  if (!stats.isFile()) return { ok: false, problem: `${file} is not a regular file (it is ${kindOf(stats)})` };
  if (stats.size > MAX_PEM_BYTES) return { ok: false, problem: `${file} is larger than ${MAX_PEM_BYTES} bytes: it is not a PEM certificate or key file` };
  try {
    return { ok: true, value: readFileSync(file, 'latin1') };
  } catch (err) {
    return { ok: false, problem: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
}

function labels(blocks: readonly RegExpMatchArray[]): string {
  return [...new Set(blocks.map((b) => b[1]))].join(', ');
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a file';
}
