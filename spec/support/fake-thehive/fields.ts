/**
 * ScalliGraph's field parsing, as TheHive runs it on every request body (thehive-api.md §4.3).
 *
 * Source [src4]: ScalliGraph 2c2a7a4 `controllers/Fields.scala` (JSON → `FString`/`FNumber(Double)`/…),
 * `controllers/FieldsParser.scala` (`string`, `int`, `date`, `sequence`, `optional`) and `Errors.scala`
 * (`AttributeCheckingError` message `[e1][e2]`, error JSON `{name, …, type}`). Every error is gathered
 * before answering. The 5.x range and length checks (OpenAPI enums/min/maxLength) have no source: their
 * wording is [infer], kept in the same `InvalidFormatAttributeError` family with the OpenAPI constraint as
 * `acceptedInput`, e.g. `expected int (1,2,3,4)` or `expected string (minLength=1,maxLength=32)`.
 */

/** One entry of `AttributeCheckingError.errors`, keys in Play `Json.writes` order. */
export type AttributeError =
  | { readonly name: string; readonly type: 'MissingAttributeError' }
  | {
      readonly name: string;
      readonly format: string;
      readonly acceptedInput: readonly string[];
      readonly field: string;
      readonly type: 'InvalidFormatAttributeError';
    };

/** A JSON object, or nothing. */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not an array, not null). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Java's `Double.toString` (Scala prints `FNumber(5.0)`, `FNumber(1.7E12)`). */
export function javaDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(n);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa = '', exponent = '0'] = n.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** Scala `toString` of the ScalliGraph `Field` a JSON value becomes; `undefined` is an absent key. */
export function fieldText(v: unknown): string {
  if (v === undefined) return 'FUndefined';
  if (v === null) return 'FNull';
  if (typeof v === 'string') return `FString(${v})`;
  if (typeof v === 'number') return `FNumber(${javaDouble(v)})`;
  if (typeof v === 'boolean') return `FBoolean(${v})`;
  if (Array.isArray(v)) return `FSeq(List(${v.map(fieldText).join(', ')}))`;
  const entries = Object.entries(v as JsonObject).map(([k, x]) => `${k} -> ${fieldText(x)}`);
  return `FObject(Map(${entries.join(', ')}))`;
}

/** `MissingAttributeError(name)`. */
export function missing(name: string): AttributeError {
  return { name, type: 'MissingAttributeError' };
}

/** `InvalidFormatAttributeError(name, format, acceptedInput, field)`. */
export function invalid(name: string, format: string, acceptedInput: readonly string[], value: unknown): AttributeError {
  return { name, format, acceptedInput, field: fieldText(value), type: 'InvalidFormatAttributeError' };
}

/** The error's `toString`, as joined into the `[e1][e2]` message. */
export function errorText(e: AttributeError): string {
  if (e.type === 'MissingAttributeError') return `Attribute ${e.name} is missing`;
  return `Invalid format for ${e.name}: ${e.field}, expected ${e.format} (${e.acceptedInput.join(',')})`;
}

/** The 400 body of `AttributeCheckingError`. */
export function attributeCheckingError(errors: readonly AttributeError[]): JsonObject {
  return { type: 'AttributeCheckingError', message: errors.map((e) => `[${errorText(e)}]`).join(''), errors };
}

/** Length bounds of a 5.x string field (OpenAPI `minLength`/`maxLength`). */
export interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

/**
 * Reads typed fields out of a request body and gathers every error, the way a ScalliGraph
 * macro-built parser does. `limits` turns on the 5.x OpenAPI range/length checks; without it the
 * reader behaves like 4.x v0 (`2.7` becomes 2 for an int, no length or enum checks: §3.2).
 */
export class FieldReader {
  readonly errors: AttributeError[] = [];
  readonly limits: boolean;

  constructor(limits: boolean) {
    this.limits = limits;
  }

  /** `String` (required) or `Option[String]`: FNull counts as a wrong format when required. */
  string(v: unknown, name: string, required: boolean, bounds: Bounds = {}): string | undefined {
    if (v === undefined || (v === null && !required)) {
      if (required) this.errors.push(missing(name));
      return undefined;
    }
    if (typeof v !== 'string') {
      this.errors.push(invalid(name, 'string', ['string'], v));
      return undefined;
    }
    this.#length(v, name, bounds);
    return v;
  }

  /** `Option[Int]`; with limits, a fraction or a value outside `allowed` is refused [infer]. */
  int(v: unknown, name: string, allowed?: readonly number[]): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || (this.limits && !Number.isInteger(v))) {
      this.errors.push(invalid(name, 'int', ['int'], v));
      return undefined;
    }
    const n = toJavaInt(v);
    if (this.limits && allowed !== undefined && !allowed.includes(n)) {
      this.errors.push(invalid(name, 'int', allowed.map(String), v));
      return undefined;
    }
    return n;
  }

  /** `Option[Date]`: a number or an all-digits string is epoch ms; ISO strings are refused (§3.2). */
  date(v: unknown, name: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && (!this.limits || Number.isInteger(v))) return Math.trunc(v);
    if (typeof v === 'string' && /^[+-]?\d{1,18}$/.test(v)) return Number(v);
    this.errors.push(invalid(name, 'date', ['date'], v));
    return undefined;
  }

  /** `Option[Boolean]`: JSON booleans only. */
  boolean(v: unknown, name: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    this.errors.push(invalid(name, 'boolean', ['boolean'], v));
    return undefined;
  }

  /** `Seq[X]` envelope: absent or null is empty, an array gives its items, anything else is an error. */
  seq(v: unknown, name: string, itemFormat: string): readonly unknown[] {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    this.errors.push(invalid(name, 'object', [`[${itemFormat}]`], v));
    return [];
  }

  /** `Set[String]` (tags): duplicates collapse, order of first appearance kept. */
  stringSet(v: unknown, name: string, bounds: Bounds = {}): string[] {
    const out: string[] = [];
    this.seq(v, name, 'string').forEach((item, i) => {
      const s = this.string(item, `${name}[${i}]`, true, bounds);
      if (s === undefined) return;
      // 5.x declares tag lists uniqueItems [oas5]; the wording of the refusal is [infer]. 4.x merges them.
      if (out.includes(s)) {
        if (this.limits) this.errors.push(invalid(`${name}[${i}]`, 'string', ['uniqueItems'], s));
        return;
      }
      out.push(s);
    });
    return out;
  }

  #length(s: string, name: string, { min, max }: Bounds): void {
    if (!this.limits || ((min === undefined || s.length >= min) && (max === undefined || s.length <= max))) return;
    const accepted = [...(min === undefined ? [] : [`minLength=${min}`]), ...(max === undefined ? [] : [`maxLength=${max}`])];
    this.errors.push(invalid(name, 'string', accepted, s));
  }
}

/** Scala `Double.toInt`: truncation, saturating at the Int range. */
function toJavaInt(n: number): number {
  return Math.max(-2147483648, Math.min(2147483647, Math.trunc(n)));
}
