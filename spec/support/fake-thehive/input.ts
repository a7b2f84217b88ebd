/**
 * Field validation of the alert-create bodies (thehive-api.md §3.1, §3.2, §3.4, §4.3, §5).
 *
 * - v1 (`POST /api/v1/alert`, TheHive 5 `InputCreateAlert`): OpenAPI 5.6.2 field order and limits. Errors come
 *   in that order, the alert's fields then `observables[i].…` [infer: 5.x is closed source; 4.x's parsers + the
 *   OpenAPI constraints].
 * - v0 (`POST /api/alert`, TheHive 4 `dto/v0/Alert.scala` + `AlertCtrl.create`): no range or length checks.
 *   `Entrypoint.extract` chains put the LAST extract's errors first (scalactic `withGood(new, previous)`),
 *   so `artifacts[i].…` errors come before `caseTemplate`, which comes before the alert's own fields [src4].
 */
import { FieldReader, invalid, isObject, type AttributeError, type JsonObject } from './fields.js';

/** A validated observable of an alert or of `POST /api/v1/alert/{id}/observable`. */
export interface ObservableInput {
  readonly dataType: string;
  /** One observable per value (§3.4); empty when absent. */
  readonly data: readonly string[];
  readonly message?: string;
  readonly tlp?: number;
  readonly pap?: number;
  readonly tags: readonly string[];
  readonly ioc?: boolean;
  readonly sighted?: boolean;
  readonly sightedAt?: number;
  readonly ignoreSimilarity?: boolean;
  /** `attachment` as sent: in a multipart body, the name of the part holding the file (§3.4). */
  readonly attachment?: unknown;
}

/** A validated alert-create body. */
export interface AlertInput {
  readonly type: string;
  readonly source: string;
  readonly sourceRef: string;
  readonly title: string;
  readonly description: string;
  readonly externalLink?: string;
  readonly severity?: number;
  readonly date?: number;
  readonly tags: readonly string[];
  readonly tlp?: number;
  readonly pap?: number;
  /** Names of the custom fields sent (object keys or array items' `name`). */
  readonly customFieldNames: readonly string[];
  /** The custom fields sent, name → value (object form `{name: value}` or array items). */
  readonly customFieldValues?: ReadonlyMap<string, unknown>;
  /** v1 `procedures` (TheHive 5 only). */
  readonly procedures?: readonly { readonly patternId: string; readonly occurDate: number; readonly tactic?: string }[];
  readonly summary?: string;
  readonly status?: string;
  readonly assignee?: string;
  readonly caseTemplate?: string;
  readonly observables: readonly ObservableInput[];
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: AttributeError[] };

const SEVERITY = [1, 2, 3, 4];
const TLP = [0, 1, 2, 3, 4];
/** TLP on TheHive 4 and 5.0/5.1: WHITE 0, GREEN 1, AMBER 2, RED 3 (§3.1). */
export const TLP_BEFORE_5_2: readonly number[] = [0, 1, 2, 3];
const PAP = [0, 1, 2, 3];
const MIB = 1_048_576;

/** A body that is not a JSON object is read as `{}` (ScalliGraph `Field(body)` keeps objects only). */
function asObject(body: unknown): JsonObject {
  return isObject(body) ? body : {};
}

/** `POST /api/v1/alert` (TheHive 5). */
export function parseAlertV1(body: unknown, tlpLevels: readonly number[] = TLP): Parsed<AlertInput> {
  const o = asObject(body);
  const r = new FieldReader(true);
  const type = r.string(o['type'], 'type', true, { min: 1, max: 32 });
  const source = r.string(o['source'], 'source', true, { min: 1, max: 32 });
  const sourceRef = r.string(o['sourceRef'], 'sourceRef', true, { min: 1, max: 128 });
  const externalLink = r.string(o['externalLink'], 'externalLink', false, { min: 1, max: 512 });
  const title = r.string(o['title'], 'title', true, { min: 1, max: 512 });
  const description = r.string(o['description'], 'description', true, { max: MIB });
  const severity = r.int(o['severity'], 'severity', SEVERITY);
  const date = r.date(o['date'], 'date');
  const tags = r.stringSet(o['tags'], 'tags', { min: 1, max: 128 });
  r.boolean(o['flag'], 'flag');
  const tlp = r.int(o['tlp'], 'tlp', tlpLevels);
  const pap = r.int(o['pap'], 'pap', PAP);
  const customFieldNames = customFields(o['customFields']);
  const summary = r.string(o['summary'], 'summary', false, { max: MIB });
  const status = r.string(o['status'], 'status', false, { min: 1, max: 64 });
  const assignee = r.string(o['assignee'], 'assignee', false, { min: 1, max: 128 });
  const caseTemplate = r.string(o['caseTemplate'], 'caseTemplate', false, { min: 1, max: 128 });
  const observables = r.seq(o['observables'], 'observables', 'InputObservable').map((item, i) => readObservable(r, item, `observables[${i}]`, tlpLevels));
  const procedures = r.seq(o['procedures'], 'procedures', 'InputProcedure').map((item, i) => readProcedure(r, item, `procedures[${i}]`));
  if (r.errors.length > 0) return { ok: false, errors: r.errors };
  const required = { type: type ?? '', source: source ?? '', sourceRef: sourceRef ?? '', title: title ?? '', description: description ?? '' };
  const optional = { externalLink, severity, date, tags, tlp, pap, customFieldNames, customFieldValues: customFieldValues(o['customFields']), summary, status, assignee, caseTemplate, procedures };
  return { ok: true, value: { ...required, ...optional, observables } };
}

/** `POST /api/alert` (TheHive 4 v0, still served by 5.x). */
export function parseAlertV0(body: unknown): Parsed<AlertInput> {
  const o = asObject(body);
  const r = new FieldReader(false);
  const observables = r.seq(o['artifacts'], 'artifacts', 'InputObservable').map((item, i) => readObservable(r, item, `artifacts[${i}]`));
  const caseTemplate = r.string(o['caseTemplate'], 'caseTemplate', false);
  const type = r.string(o['type'], 'type', true);
  const source = r.string(o['source'], 'source', true);
  const sourceRef = r.string(o['sourceRef'], 'sourceRef', true);
  const externalLink = r.string(o['externalLink'], 'externalLink', false);
  const title = r.string(o['title'], 'title', true);
  const description = r.string(o['description'], 'description', true);
  const severity = r.int(o['severity'], 'severity');
  const date = r.date(o['date'], 'date');
  const tags = r.stringSet(o['tags'], 'tags');
  r.boolean(o['flag'], 'flag');
  const tlp = r.int(o['tlp'], 'tlp');
  const pap = r.int(o['pap'], 'pap');
  const customFieldNames = customFields(o['customFields']);
  if (r.errors.length > 0) return { ok: false, errors: r.errors };
  const required = { type: type ?? '', source: source ?? '', sourceRef: sourceRef ?? '', title: title ?? '', description: description ?? '' };
  return { ok: true, value: { ...required, externalLink, severity, date, tags, tlp, pap, customFieldNames, caseTemplate, observables } };
}

/** Body of `POST /api/v1/alert/{id}/observable`: one InputCreateObservable, paths at the root. */
export function parseObservableV1(body: unknown, tlpLevels: readonly number[] = TLP): Parsed<ObservableInput> {
  const r = new FieldReader(true);
  const value = readObservable(r, asObject(body), '', tlpLevels);
  return r.errors.length > 0 ? { ok: false, errors: r.errors } : { ok: true, value };
}

/** Body of `POST /api/alert/{id}/artifact` (TheHive 4 v0): one InputObservable, no 5.x limits. */
export function parseObservableV0(body: unknown): Parsed<ObservableInput> {
  const r = new FieldReader(false);
  const value = readObservable(r, asObject(body), '');
  return r.errors.length > 0 ? { ok: false, errors: r.errors } : { ok: true, value };
}

/**
 * One observable. A non-object item reads every key as absent, so it reports `dataType` missing [src4 macro
 * parser: `field.get(name)` on a non-object is FUndefined]. v1 adds 5.x `pap`/`sightedAt` and the limits.
 */
function readObservable(r: FieldReader, item: unknown, path: string, tlpLevels: readonly number[] = TLP): ObservableInput {
  const o = asObject(item);
  const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
  const v1 = r.limits;
  const dataType = r.string(o['dataType'], at('dataType'), true, { min: 1, max: 64 }) ?? '';
  const data = readData(r, o['data'], at('data'));
  const message = r.string(o['message'], at('message'), false, { max: MIB });
  r.date(o['startDate'], at('startDate'));
  const tlp = r.int(o['tlp'], at('tlp'), tlpLevels);
  const pap = v1 ? r.int(o['pap'], at('pap'), PAP) : undefined;
  const tags = r.stringSet(o['tags'], at('tags'), { min: 1, max: 128 });
  const ioc = r.boolean(o['ioc'], at('ioc'));
  const sighted = r.boolean(o['sighted'], at('sighted'));
  const sightedAt = v1 ? r.date(o['sightedAt'], at('sightedAt')) : undefined;
  const ignoreSimilarity = r.boolean(o['ignoreSimilarity'], at('ignoreSimilarity'));
  if (v1) r.boolean(o['isZip'], at('isZip'));
  if (v1) r.string(o['zipPassword'], at('zipPassword'), false, { min: 1, max: 512 });
  const attachment = o['attachment'];
  return { dataType, data, message, tlp, pap, tags, ioc, sighted, sightedAt, ignoreSimilarity, ...(attachment === undefined ? {} : { attachment }) };
}

/**
 * `InputObservable.dataParser` [src4 dto/v0|v1/Observable.scala]: a string or an array of strings. Array items
 * are parsed with an EMPTY path on 4.x (`FieldsParser.string(_)`), so their errors read `Invalid format for : …`;
 * on v1 they get `…data[i]` and the 1–4096 limit [infer].
 */
function readData(r: FieldReader, v: unknown, name: string): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return r.string(v, name, true, { min: 1, max: 4096 }) === undefined ? [] : [v];
  if (!Array.isArray(v)) {
    r.errors.push(invalid(name, 'data', ['data'], v));
    return [];
  }
  const out: string[] = [];
  v.forEach((item, i) => {
    const s = r.string(item, r.limits ? `${name}[${i}]` : '', true, { min: 1, max: 4096 });
    if (s !== undefined) out.push(s);
  });
  return out;
}

/** A v1 `InputProcedure`: `patternId` (1–128) and `occurDate` required, `tactic` 1–32 (§3.1). */
function readProcedure(r: FieldReader, item: unknown, path: string): { patternId: string; occurDate: number; tactic?: string } {
  const o = asObject(item);
  const patternId = r.string(o['patternId'], `${path}.patternId`, true, { min: 1, max: 128 }) ?? '';
  const occurDate = r.date(o['occurDate'], `${path}.occurDate`);
  if (occurDate === undefined && o['occurDate'] === undefined) r.string(undefined, `${path}.occurDate`, true);
  const tactic = r.string(o['tactic'], `${path}.tactic`, false, { min: 1, max: 32 });
  r.string(o['description'], `${path}.description`, false, { max: MIB });
  return { patternId, occurDate: occurDate ?? 0, ...(tactic === undefined ? {} : { tactic }) };
}

/** The custom fields' values by name (object form, or array items' `name`/`value`). */
function customFieldValues(v: unknown): Map<string, unknown> {
  if (isObject(v)) return new Map(Object.entries(v));
  if (!Array.isArray(v)) return new Map();
  return new Map(v.flatMap((item) => (isObject(item) && typeof item['name'] === 'string' ? [[item['name'], item['value']] as [string, unknown]] : [])));
}

/** Names of the custom fields sent; other shapes are ignored like 4.x's parser does (`case _ => Good(Nil)`). */
function customFields(v: unknown): string[] {
  if (isObject(v)) return Object.keys(v);
  if (!Array.isArray(v)) return [];
  return v.flatMap((item) => (isObject(item) && typeof item['name'] === 'string' ? [item['name']] : []));
}
