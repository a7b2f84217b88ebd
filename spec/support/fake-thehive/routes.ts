/**
 * Routing and the request pipeline of the stand-in (thehive-api.md §7.2).
 *
 * Order for a JSON POST: (1) Content-Type (5.x strict mode) → 413 → (2) JSON parse → (3) `Authorization:
 * Bearer` → (4) field validation, every error gathered → (5) `X-Organisation` → (6) duplicate → (7) custom
 * fields / observable types, all in one transaction. Steps 1–2 are Play's, before the controller [infer §7.2];
 * 2 → 3 → 4 is ScalliGraph `Entrypoint.asyncAuth` [src4].
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Reply } from './faults.js';
import type { Multipart } from './multipart.js';
import { attributeCheckingError } from './fields.js';
import { parseAlertV0, parseAlertV1, parseObservableV0, parseObservableV1, TLP_BEFORE_5_2 } from './input.js';
import { runQuery } from './query.js';
import { renderAlert, renderAlertV0, type AlertStore } from './store.js';
import { parseUpdate } from './update.js';

/** The routes the stand-in serves; anything else is a 404 with the path as message. */
export type RouteName =
  | 'createV1'
  | 'createV0'
  | 'getV1'
  | 'getV0'
  | 'addObservable'
  | 'addArtifactV0'
  | 'updateV1'
  | 'updateV0'
  | 'query'
  | 'status'
  | 'statusPublic'
  | 'statusV1'
  | 'userCurrent'
  | 'notFound';

export interface Route {
  readonly name: RouteName;
  /** Percent-decoded `{alertId}` path segment. */
  readonly id?: string;
}

/** One request, body already read. */
export interface RequestContext {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body went past `maxBodyBytes` (and was not kept). */
  readonly tooLarge: boolean;
  readonly now: number;
  /** A `multipart/form-data` body as read (multipart.ts), or why it could not be. */
  readonly multipart?: Multipart | { readonly error: string };
}

/** What the pipeline needs from the server. */
export interface ServerState {
  readonly store: AlertStore;
  readonly apiKey: string;
  readonly organisation: string;
  /** Further organisations the API user is a member of. */
  readonly organisations?: readonly string[];
  readonly strictContentType: boolean;
  /** The TheHive major version played: 4 has no `/api/v1/alert/{id}/observable` route (§1.2). */
  readonly version: 4 | 5;
  /** What `GET /api/status` names (`versions.TheHive`); 5.0/5.1 take TLP 0–3 only. */
  readonly release?: string;
}

/** Version the stand-in claims (the TheHive 5 image TheHive4py's own tests run against) [infer]. */
export const THEHIVE_VERSION = '5.5.13-1';
/** Version it claims when playing TheHive 4 (the last 4.1 release). */
export const THEHIVE_4_VERSION = '4.1.24-1';

const JSON_BODIES: ReadonlySet<RouteName> = new Set(['createV1', 'createV0', 'addObservable', 'addArtifactV0', 'query', 'updateV1', 'updateV0']);
/** Routes that take files: the JSON in `_json`, files in parts (§3.4) [oas5 /api/v1/alert; src4 v0 artifact]. */
const MULTIPART_BODIES: ReadonlySet<RouteName> = new Set(['createV1', 'addObservable', 'addArtifactV0']);

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Maps method + path (no query string) to a route; `version` 4 lacks the 5-only routes. */
export function matchRoute(method: string, path: string, version: 4 | 5 = 5): Route {
  const s = path.split('/');
  const id = s[4] !== undefined && s[4] !== '' ? decode(s[4]) : undefined;
  const v0id = s[3] !== undefined && s[3] !== '' ? decode(s[3]) : undefined;
  const v1Alert = s[1] === 'api' && s[2] === 'v1' && s[3] === 'alert';
  const v0Alert = s[1] === 'api' && s[2] === 'alert';
  if (method === 'POST') {
    if (path === '/api/v1/alert') return { name: 'createV1' };
    if (path === '/api/alert') return { name: 'createV0' };
    if (path === '/api/v1/query') return { name: 'query' };
    if (version === 5 && v1Alert && s.length === 6 && id !== undefined && s[5] === 'observable') return { name: 'addObservable', id };
    if (v0Alert && s.length === 5 && v0id !== undefined && s[4] === 'artifact') return { name: 'addArtifactV0', id: v0id };
  }
  if (method === 'PATCH') {
    if (v1Alert && s.length === 5 && id !== undefined) return { name: 'updateV1', id };
    if (v0Alert && s.length === 4 && v0id !== undefined) return { name: 'updateV0', id: v0id };
  }
  if (method === 'GET') {
    if (path === '/api/status') return { name: 'status' };
    if (path === '/api/v1/status/public') return { name: 'statusPublic' };
    if (path === '/api/v1/status') return { name: 'statusV1' };
    // The key's own user, on 4.x (v0 and v1) and 5.x: how clients check a key [oas5 /api/v1/user/current].
    if (path === '/api/v1/user/current' || path === '/api/user/current') return { name: 'userCurrent' };
    if (v1Alert && s.length === 5 && id !== undefined) return { name: 'getV1', id };
    if (v0Alert && s.length === 4 && v0id !== undefined) return { name: 'getV0', id: v0id };
  }
  return { name: 'notFound' };
}

const json = (status: number, body: unknown): Reply => ({ status, body });
const fail = (status: number, type: string, message: string): Reply => json(status, { type, message });

/** Runs the pipeline for one request. */
export function handle(route: Route, ctx: RequestContext, state: ServerState): Reply {
  if (route.name === 'notFound') return fail(404, 'NotFoundError', ctx.path); // ScalligraphRouter, auth or not
  const release = state.release ?? (state.version === 4 ? THEHIVE_4_VERSION : THEHIVE_VERSION);
  if (route.name === 'status') return json(200, liveStatus(release));
  if (route.name === 'statusPublic') {
    return json(200, { sso: false, ssoProviders: [], version: release, imports: { mitreCatalog: 'Done' } });
  }
  let body: unknown;
  const files = ctx.multipart !== undefined && 'files' in ctx.multipart && MULTIPART_BODIES.has(route.name) ? ctx.multipart.files : new Map();
  if (JSON_BODIES.has(route.name)) {
    const read = ctx.multipart !== undefined && MULTIPART_BODIES.has(route.name) ? readFormJson(ctx, ctx.multipart) : readJson(ctx, state.strictContentType);
    if ('status' in read) return read;
    body = read.value;
  }
  if (!authenticated(ctx.headers, state.apiKey)) return fail(401, 'AuthenticationError', 'Authentication failure');
  const org = ctx.headers['x-organisation'];
  const orgOk = org === undefined || org === '' || org === state.organisation || (typeof org === 'string' && (state.organisations ?? []).includes(org));
  const orgName = typeof org === 'string' && org !== '' ? org : state.organisation;
  const { store } = state;
  // TheHive 5.0/5.1 number RED 3 and know no AMBER+STRICT: TLP 4 is out of their range (§3.1).
  const tlp = /^5\.[01]\./.test(release) ? TLP_BEFORE_5_2 : undefined;
  switch (route.name) {
    case 'createV1':
    case 'createV0': {
      const v1 = route.name === 'createV1';
      const parsed = v1 ? parseAlertV1(body, tlp) : parseAlertV0(body);
      if (!parsed.ok) return json(400, attributeCheckingError(parsed.errors));
      // A foreign organisation: authenticated with no permission there [src4 v0 AlertCtrl; infer for non-members].
      if (!orgOk) return fail(403, 'AuthorizationError', 'Operation not permitted');
      const out = store.create(parsed.value, v1 ? 'v1' : 'v0', ctx.now, orgName, files);
      if (!out.ok) return json(out.status, out.body);
      return json(201, v1 ? renderAlert(out.alert, true) : renderAlertV0(out.alert, out.created, true));
    }
    case 'getV1':
    case 'getV0': {
      const alert = orgOk ? store.get(route.id ?? '', orgName) : undefined;
      if (alert === undefined) return fail(404, 'NotFoundError', 'Alert not found');
      return json(200, route.name === 'getV1' ? renderAlert(alert) : renderAlertV0(alert, alert.observables));
    }
    case 'updateV1':
    case 'updateV0': {
      const v1 = route.name === 'updateV1';
      const parsed = parseUpdate(body, v1 ? 'v1' : 'v0', tlp);
      if (!parsed.ok) return json(400, attributeCheckingError(parsed.errors));
      // An alert of another organisation than X-Organisation's is not found there (thehive-api §7).
      const alert = orgOk ? store.get(route.id ?? '', orgName) : undefined;
      if (alert === undefined) return fail(404, 'NotFoundError', 'Alert not found');
      store.update(alert, parsed.value, ctx.now);
      // 5.x answers 204 with no body (thehive4go integration test, §1.1); 4.x v0 the updated alert.
      return v1 ? { status: 204 } : json(200, renderAlertV0(alert, alert.observables));
    }
    case 'addObservable':
    case 'addArtifactV0': {
      const parsed = route.name === 'addObservable' ? parseObservableV1(body, tlp) : parseObservableV0(body);
      if (!parsed.ok) return json(400, attributeCheckingError(parsed.errors));
      const alert = orgOk ? store.get(route.id ?? '', orgName) : undefined;
      // Missing or foreign alert: 403, not 404 [src4 v1 ObservableCtrl.createInAlert, §4.5].
      if (alert === undefined) return fail(403, 'AuthorizationError', 'Operation not permitted');
      const out = store.addObservables(alert, parsed.value, ctx.now, files);
      return json(out.status, out.body);
    }
    case 'query':
      return runQuery(body, store, orgOk, orgName);
    case 'userCurrent':
      // A non-member organisation authenticates with no permission there [infer from src4 UserSrv.getAuthContext].
      if (!orgOk) return fail(403, 'AuthorizationError', 'Operation not permitted');
      return json(200, {
        _id: '~1',
        _type: 'User',
        login: `api@${state.organisation}`,
        name: 'tracehive service account',
        hasKey: true,
        hasPassword: false,
        hasMFA: false,
        locked: false,
        profile: 'analyst',
        permissions: ['manageAlert/create', 'manageObservable'],
        organisation: state.organisation,
        type: 'Service',
      });
    default:
      return json(200, { version: release, gitDescription: release, connectors: {}, config: {}, features: [] });
  }
}

/** `GET /api/status`, no auth: the 4.x `StatusCtrl.get` shape [src4], 5.x version strings [infer]. */
function liveStatus(version: string): unknown {
  return {
    versions: { Scalligraph: version, TheHive: version, Play: '2.8.19' },
    connectors: {},
    config: {
      ...{ protectDownloadsWith: 'malware', authType: ['session', 'local', 'key'], ssoAutoLogin: false },
      ...{ capabilities: ['changePassword', 'setPassword', 'authByKey'], pollingDuration: 1000, freeTagDefaultColour: '#000000' },
    },
    schemaStatus: [],
  };
}

/** `Authorization: Bearer <key>` only [src4 KeyAuthSrv]; Basic and sessions are not modelled, so they fail. */
function authenticated(headers: IncomingHttpHeaders, key: string): boolean {
  const value = headers.authorization;
  return typeof value === 'string' && value.startsWith('Bearer ') && value.slice('Bearer '.length) === key;
}

/**
 * A multipart body's JSON: the `_json` part [oas5; ScalliGraph FieldsParser]. None reads as an empty
 * object (every required field then missing); an unreadable body or `_json` is Play's 400.
 */
function readFormJson(ctx: RequestContext, form: Multipart | { readonly error: string }): Reply | { readonly value: unknown } {
  if (ctx.tooLarge) return fail(413, 'Unknown', 'Request Entity Too Large');
  if ('error' in form) return fail(400, 'BadRequest', `Bad multipart body: ${form.error}`);
  if (form.json === undefined) return { value: {} };
  try {
    return { value: JSON.parse(form.json) as unknown };
  } catch (err) {
    return fail(400, 'BadRequest', `Invalid Json: ${(err as Error).message}`);
  }
}

/**
 * Play's part. Strict (5.x ≥ 5.2.16): anything but `application/json` is a 400 (§2), wording [infer: Play's
 * own strict-JSON message]. Lenient (4.x): a non-JSON body is ignored, so fields read as missing [src4 Fields.scala].
 * Bad JSON: `Invalid Json: <parser message>` (§4.2; the empty-body text is Jackson's [obs TheHive#438]).
 * Too large: Play's `onClientError(413, "Request Entity Too Large")` → type `Unknown` [infer].
 */
function readJson(ctx: RequestContext, strict: boolean): Reply | { readonly value: unknown } {
  const mime = (ctx.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (strict && mime !== 'application/json') return fail(400, 'BadRequest', 'Expecting text/json or application/json body');
  if (ctx.tooLarge) return fail(413, 'Unknown', 'Request Entity Too Large');
  if (mime !== 'application/json' && mime !== 'text/json') return { value: {} };
  const text = ctx.body.toString('utf8');
  if (text.trim() === '') return fail(400, 'BadRequest', 'Invalid Json: No content to map due to end-of-input');
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return fail(400, 'BadRequest', `Invalid Json: ${(err as Error).message}`);
  }
}
