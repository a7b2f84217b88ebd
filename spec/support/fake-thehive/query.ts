/**
 * `POST /api/v1/query` (thehive-api.md §1.3): `{"query":[op, …]}` run in order.
 *
 * Supported: `listAlert`, `getAlert`, `filter` (`_and/_or/_not/_any/_eq/_is/_ne/_lt/_gt/_lte/_gte/_in/_like/
 * _startsWith/_endsWith/_id`, `{_field,_value}` and the deprecated `{field: value}`), `sort`, `page`, `count`,
 * `observables`. Filter shapes follow ScalliGraph `query/Filter.scala` [src4]; the wording of errors for
 * unknown operations/properties follows `QueryExecutor`/`Filter.scala` with the Scala type shortened [infer].
 */
import { attributeCheckingError, invalid, isObject, missing, type JsonObject } from './fields.js';
import { renderAlert, renderObservable, type AlertStore } from './store.js';

type Reply = { readonly status: number; readonly body: unknown };
type Item = JsonObject;
type Predicate = (item: Item) => boolean;

class QueryError extends Error {
  readonly reply: Reply;

  constructor(reply: Reply) {
    super('query');
    this.reply = reply;
  }
}

const badRequest = (message: string): QueryError => new QueryError({ status: 400, body: { type: 'BadRequest', message } });

const ALERT_OPERATIONS = ['listAlert', 'getAlert'];
const STEP_OPERATIONS = ['filter', 'sort', 'page', 'count', 'observables'];

/** Runs a query for `organisation` (its alerts only); `visible` false (foreign `X-Organisation`) sees no alert. */
export function runQuery(body: unknown, store: AlertStore, visible: boolean, organisation: string = store.organisation): Reply {
  const query = isObject(body) ? body['query'] : undefined;
  if (query === undefined) return { status: 400, body: attributeCheckingError([missing('query')]) };
  if (!Array.isArray(query)) return { status: 400, body: attributeCheckingError([invalid('query', 'object', ['[query]'], query)]) };
  try {
    let kind: 'Alert' | 'Observable' | 'none' = 'none';
    let items: Item[] = [];
    for (const op of query) {
      const name = isObject(op) ? op['_name'] : undefined;
      const allowed = kind === 'none' ? ALERT_OPERATIONS : STEP_OPERATIONS;
      if (typeof name !== 'string' || !allowed.includes(name)) {
        return { status: 400, body: attributeCheckingError([invalid('_name', 'query', allowed, op)]) };
      }
      const params = op as JsonObject;
      if (name === 'listAlert') {
        items = visible ? store.alerts.filter((a) => a.organisation === organisation).map((a) => renderAlert(a)) : [];
        kind = 'Alert';
      } else if (name === 'getAlert') {
        const found = visible && typeof params['idOrName'] === 'string' ? store.get(params['idOrName'], organisation) : undefined;
        if (found === undefined) return { status: 404, body: { type: 'NotFoundError', message: 'Alert not found' } };
        items = [renderAlert(found)];
        kind = 'Alert';
      } else if (name === 'observables') {
        const ids = new Set(items.map((i) => i['_id']));
        items = store.alerts.filter((a) => ids.has(a._id)).flatMap((a) => a.observables.map(renderObservable));
        kind = 'Observable';
      } else if (name === 'filter') {
        const { _name: _ignored, ...filter } = params;
        const keep = predicate(filter, kind);
        items = items.filter(keep);
      } else if (name === 'sort') {
        items = sort(items, params['_fields']);
      } else if (name === 'page') {
        const from = typeof params['from'] === 'number' ? params['from'] : 0;
        const to = typeof params['to'] === 'number' ? params['to'] : items.length;
        items = items.slice(from, to);
      } else {
        return { status: 200, body: items.length };
      }
    }
    return { status: 200, body: items };
  } catch (err) {
    if (err instanceof QueryError) return err.reply;
    throw err;
  }
}

function sort(items: Item[], fields: unknown): Item[] {
  const keys = (Array.isArray(fields) ? fields : []).flatMap((f) => (isObject(f) ? Object.entries(f) : []));
  return [...items].sort((a, b) => {
    for (const [key, dir] of keys) {
      const c = compare(a[key], b[key]);
      if (c !== 0) return dir === 'desc' ? -c : c;
    }
    return 0;
  });
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a ?? '').localeCompare(String(b ?? ''));
}

/** `{_field, _value}` (FFieldValue) or the deprecated `{key: value}` (FDeprecatedObjOne). */
function fieldValue(v: unknown): [string, unknown] | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v['_field'] === 'string' && '_value' in v) return [v['_field'], v['_value']];
  const entries = Object.entries(v);
  return entries.length === 1 ? entries[0] : undefined;
}

function predicate(f: unknown, kind: string): Predicate {
  if (!isObject(f)) throw badRequest(`Invalid filter ${JSON.stringify(f)}`);
  const entries = Object.entries(f);
  if (entries.length === 0) return () => true;
  if (typeof f['_field'] === 'string' && '_value' in f) return compareOp('_eq', f, kind);
  const [op, arg] = entries[0] ?? ['', undefined];
  const sub = (x: unknown): Predicate => predicate(x, kind);
  switch (op) {
    case '_and':
      return Array.isArray(arg) ? ((ps) => (i: Item) => ps.every((p) => p(i)))(arg.map(sub)) : fail(f);
    case '_or':
      return Array.isArray(arg) ? ((ps) => (i: Item) => ps.some((p) => p(i)))(arg.map(sub)) : fail(f);
    case '_not':
      return ((p) => (i: Item) => !p(i))(sub(arg));
    case '_any':
      return () => true;
    case '_id':
      return (i) => i['_id'] === arg;
    case '_in': {
      const field = isObject(arg) ? arg['_field'] : undefined;
      const values = isObject(arg) ? arg['_values'] : undefined;
      if (typeof field !== 'string' || !Array.isArray(values)) return fail(f);
      property(field, kind);
      return (i) => values.some((v) => matches(i[field], v));
    }
    default:
      if (op.startsWith('_')) return compareOp(op, arg, kind);
      return compareOp('_eq', f, kind);
  }
}

function compareOp(op: string, arg: unknown, kind: string): Predicate {
  const fv = fieldValue(arg);
  if (fv === undefined) return fail({ [op]: arg });
  const [field, value] = fv;
  property(field, kind);
  const text = (x: unknown): string => String(x ?? '');
  switch (op) {
    case '_eq':
    case '_is':
      return (i) => matches(i[field], value);
    case '_ne':
      return (i) => !matches(i[field], value);
    case '_lt':
      return (i) => compare(i[field], value) < 0;
    case '_gt':
      return (i) => compare(i[field], value) > 0;
    case '_lte':
      return (i) => compare(i[field], value) <= 0;
    case '_gte':
      return (i) => compare(i[field], value) >= 0;
    case '_startsWith':
      return (i) => text(i[field]).startsWith(text(value));
    case '_endsWith':
      return (i) => text(i[field]).endsWith(text(value));
    case '_like': {
      // `*x*` contains, `*x` ends with, `x*` starts with, else equality [src4 Filter.scala `like`].
      const v = text(value);
      const s = v.startsWith('*');
      const e = v.length > 1 && v.endsWith('*');
      const core = v.slice(s ? 1 : 0, e ? -1 : undefined);
      return (i) => (s && e ? text(i[field]).includes(core) : s ? text(i[field]).endsWith(core) : e ? text(i[field]).startsWith(core) : matches(i[field], v));
    }
    default:
      return fail({ [op]: arg });
  }
}

/** Equality; an array property (tags) matches when it holds the value. */
function matches(actual: unknown, expected: unknown): boolean {
  return Array.isArray(actual) ? actual.includes(expected) : actual === expected;
}

const ALERT_PROPERTIES = new Set(
  ('_id _createdBy _updatedBy _createdAt _updatedAt type source sourceRef externalLink title description severity ' +
    'date tags tlp pap follow observableCount status stage assignee summary newDate timeToDetect').split(' '),
);
const OBSERVABLE_PROPERTIES = new Set(
  '_id _createdBy _createdAt dataType data startDate tlp pap tags ioc sighted sightedAt message ignoreSimilarity'.split(' '),
);

/** An unknown property is a 400 [src4 Filter.scala `Property $name for type $tpe not found`]. */
function property(name: string, kind: string): void {
  const known = kind === 'Observable' ? OBSERVABLE_PROPERTIES : ALERT_PROPERTIES;
  if (!known.has(name)) throw badRequest(`Property ${name} for type ${kind} not found`);
}

function fail(f: unknown): never {
  throw new QueryError({ status: 400, body: attributeCheckingError([invalid('filter', 'query', ['query'], f)]) });
}
