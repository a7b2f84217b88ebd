/**
 * The alert lifecycle's requests to TheHive ({@link AlertOps}), on TheHive 5 (`/api/v1`) and 4 (v0
 * `/api`), each answer read as TheHive gives it (thehive-api.md §1, §4.4–§4.6):
 *
 * - create: `POST …/alert`; 201 → the new `_id`; "already exists" → the existing alert's `_id`,
 *   fetched by its name `type;source;sourceRef`, else found with the query API.
 * - get: `GET …/alert/{id}`; 404 → gone. Open = stage New/InProgress (5), status New/Updated (4).
 * - update: v1 `PATCH` with `addTags`/`removeTags` (204); v0 has neither, so the alert's tags are read
 *   first and the whole list sent (never dropping an analyst's tag).
 * - addObservables: v1 `POST …/observable`, v0 `POST …/artifact`, one request per group of
 *   observables that share everything but `data`; 201 or 207 (some already there) are both fine.
 * - find: `POST /api/v1/query` (4.1 serves it too), newest first.
 */
import type { AxiosResponse } from 'axios';
import { commonOutcome, httpReason, isAlreadyExists, parseError, tooLargeReason, truncate } from './thehive-answers.js';
import type { TheHiveClient } from './thehive-client.js';
import { attachedHashes, createV1Body, isFile, oneFileBody, partsOf, releaseFiles, withoutFiles, type FileObservable, type FileSource } from './thehive-files.js';
import type { MultipartBody } from './multipart.js';
import { encodeV0 } from './thehive-v0.js';
import { wireAlert } from './rule-refusal.js';
import { legacyAlert, legacyObservable } from './tlp-numbering.js';
import type { Dialect } from './thehive-version.js';
import type { AlertOps, AlertPatch, AlertStatus, FoundAlert, OpResult } from '../lifecycle/types.js';
import type { Alert, Observable, Severity } from '../types.js';

type Api = 'v1' | 'v0';
type Fail = Exclude<OpResult<never>, { readonly kind: 'ok' }>;

/**
 * The lifecycle's requests over `client`; `api` resolves which API TheHive speaks (auto-detection).
 * `files`: where `file` observables' bytes wait (thehive-files.ts); without it they are left out.
 */
export function createTheHiveOps(client: TheHiveClient, dialect: (signal: AbortSignal) => Promise<Dialect | Fail>, files?: FileSource): AlertOps {
  const api = async (signal: AbortSignal): Promise<Api | Fail> => {
    const d = await dialect(signal);
    return 'api' in d ? d.api : d;
  };
  const prefix = (a: Api): string => (a === 'v1' ? '/api/v1' : '/api');
  const alertPath = (a: Api, id: string): string => `${prefix(a)}/alert/${encodeURIComponent(id)}`;

  async function get(a: Api, id: string, signal: AbortSignal, organisation?: string): Promise<OpResult<FoundAlert | { readonly id: string; readonly status: 'gone' }>> {
    return client.request({ method: 'GET', url: alertPath(a, id), headers: orgHeaders(organisation) }, signal, (res) => {
      if (res.status === 404) return ok({ id, status: 'gone' as const });
      return readJson(res, 'GET alert', (body) => foundAlert(body, id));
    });
  }

  async function find(by: { readonly sourceRef: string } | { readonly tag: string }, signal: AbortSignal, organisation?: string): Promise<OpResult<FoundAlert | null>> {
    const filter = 'sourceRef' in by ? { _eq: { _field: 'sourceRef', _value: by.sourceRef } } : { _eq: { _field: 'tags', _value: by.tag } };
    const query = { query: [{ _name: 'listAlert' }, { _name: 'filter', ...filter }, { _name: 'sort', _fields: [{ _createdAt: 'desc' }] }, { _name: 'page', from: 0, to: 1 }] };
    return client.request({ method: 'POST', url: '/api/v1/query', data: JSON.stringify(query), headers: orgHeaders(organisation) }, signal, (res) =>
      readJson(res, 'query', (body) => {
        if (!Array.isArray(body)) return null;
        return body.length === 0 ? null : foundAlert(body[0], '');
      }),
    );
  }

  return {
    async create(given: Alert, signal: AbortSignal) {
      const d = await dialect(signal);
      if (!('api' in d)) return d;
      const a = d.api;
      // TheHive 5.0, 5.1: RED as 3 (a v0 body is converted by encodeV0, its files below).
      const alert = d.legacyTlp && a === 'v1' ? legacyAlert(given) : given;
      const withFiles = files !== undefined && alert.observables.some(isFile);
      const made = await createOnly(a, alert, withFiles, signal);
      if (made.kind !== 'ok' || !withFiles) return made;
      // TheHive 4 takes files one request each, after the alert; 5 had them in the create.
      if (a === 'v0') {
        const attached = await attachV0(made.value.id, alert.observables.filter(isFile).map(legacyObservable), signal, alert.meta?.organisation);
        if (attached.kind !== 'ok') return attached;
      }
      await releaseFiles(alert.observables, files);
      return made;
    },
    async get(id: string, signal: AbortSignal, organisation?: string) {
      const a = await api(signal);
      return typeof a === 'string' ? get(a, id, signal, organisation) : a;
    },
    async update(id: string, patch: AlertPatch, signal: AbortSignal, organisation?: string) {
      const a = await api(signal);
      if (typeof a !== 'string') return a;
      const { addTags = [], removeTags = [], ...fields } = patch;
      let body: Record<string, unknown> = { ...fields };
      if (a === 'v1') {
        if (addTags.length > 0) body['addTags'] = addTags;
        if (removeTags.length > 0) body['removeTags'] = removeTags;
      } else if (addTags.length > 0 || removeTags.length > 0) {
        const current = await get(a, id, signal, organisation);
        if (current.kind !== 'ok') return current;
        if (current.value.status === 'gone') return gone(id);
        const tags = current.value.tags.filter((t) => !removeTags.includes(t));
        for (const t of addTags) if (!tags.includes(t)) tags.push(t);
        body = { ...body, tags };
      }
      return client.request({ method: 'PATCH', url: alertPath(a, id), data: JSON.stringify(body), headers: orgHeaders(organisation) }, signal, (res) => {
        if (res.status >= 200 && res.status < 300) return ok(undefined);
        if (res.status === 404) return gone(id);
        return failure(res, 'PATCH alert');
      });
    },
    async addObservables(id: string, given: readonly Observable[], signal: AbortSignal, organisation?: string) {
      const d = await dialect(signal);
      if (!('api' in d)) return d;
      const a = d.api;
      const observables = d.legacyTlp ? given.map(legacyObservable) : given;
      let added = 0;
      let existed = 0;
      const url = `${alertPath(a, id)}/${a === 'v1' ? 'observable' : 'artifact'}`;
      for (const group of groups(observables.filter((o) => !isFile(o)))) {
        const r = await client.request({ method: 'POST', url, data: JSON.stringify(group), headers: orgHeaders(organisation) }, signal, classifyAdd);
        if (r.kind !== 'ok') return r;
        added += r.value.added;
        existed += r.value.existed;
      }
      const fileObs = observables.filter(isFile);
      if (files !== undefined && fileObs.length > 0) {
        const r = await addFiles(url, fileObs, signal, organisation);
        if (r.kind !== 'ok') return r;
        added += r.value.added;
        existed += r.value.existed;
        await releaseFiles(fileObs, files);
      }
      return ok({ added, existed });
    },
    async find(by, signal, organisation) {
      const a = await api(signal);
      return typeof a === 'string' ? find(by, signal, organisation) : a;
    },
    releaseFiles: (observables) => releaseFiles(observables, files),
  };

  /** `POST …/alert`, its files in it on TheHive 5 (multipart); "already exists" resolved to the alert's id. */
  async function createOnly(a: Api, alert: Alert, withFiles: boolean, signal: AbortSignal): Promise<OpResult<{ readonly id: string; readonly duplicate: boolean }>> {
    let created;
    // A rule's organisation on the create; the lifecycle keeps it (its state) for every later request.
    const organisation = alert.meta?.organisation;
    const orgHeader = orgHeaders(organisation);
    if (withFiles && a === 'v1') {
      const mp = await createV1Body(wireAlert(alert), files as FileSource);
      const config = multipartConfig(`${prefix(a)}/alert`, mp);
      created = await client.request({ ...config, headers: { ...config.headers, ...orgHeader } }, signal, (res) => classifyCreate(res, mp.length));
    } else {
      const plain = withoutFiles(alert);
      const body = a === 'v1' ? JSON.stringify(wireAlert(plain)) : encodeV0(plain);
      created = await client.request({ method: 'POST', url: `${prefix(a)}/alert`, data: body, headers: orgHeader }, signal, (res) => classifyCreate(res, Buffer.byteLength(body)));
    }
    if (created.kind !== 'exists') return created;
    // Ours from before (a crash, a forgotten state): its id by name, else by the query API.
    const name = `${alert.type};${alert.source};${alert.sourceRef}`;
    const byName = await get(a, name, signal, organisation);
    if (byName.kind !== 'ok') return byName;
    if (byName.value.status !== 'gone') return ok({ id: byName.value.id, duplicate: true });
    const found = await find({ sourceRef: alert.sourceRef }, signal, organisation);
    if (found.kind !== 'ok') return found;
    if (found.value === null) return { kind: 'retry', reason: `TheHive says ${alert.sourceRef} already exists but neither GET by name nor the query API finds it` };
    return ok({ id: found.value.id, duplicate: true });
  }

  /** TheHive 4: each file the alert does not hold yet, by `POST /api/alert/{id}/artifact` (multipart). */
  async function attachV0(id: string, fileObs: readonly FileObservable[], signal: AbortSignal, organisation?: string): Promise<OpResult<void>> {
    const current = await client.request({ method: 'GET', url: alertPath('v0', id), headers: orgHeaders(organisation) }, signal, (res) => readJson(res, 'GET alert', attachedHashes));
    if (current.kind !== 'ok') return current;
    const missing = fileObs.filter((f) => !current.value.has(f.attachment.sha256));
    const r = await addFiles(`${alertPath('v0', id)}/artifact`, missing, signal, organisation);
    return r.kind === 'ok' ? ok(undefined) : r;
  }

  /** One multipart request per file still in the store; "already exists" (207) counts as there. */
  async function addFiles(url: string, fileObs: readonly FileObservable[], signal: AbortSignal, organisation?: string): Promise<OpResult<{ added: number; existed: number }>> {
    const { parts, kept } = await partsOf(fileObs, files as FileSource, () => 'attachment');
    let added = 0;
    let existed = 0;
    for (let i = 0; i < kept.length; i++) {
      const mp = oneFileBody(kept[i] as FileObservable, parts[i] as (typeof parts)[number]);
      const config = multipartConfig(url, mp);
      const r = await client.request({ ...config, headers: { ...config.headers, ...orgHeaders(organisation) } }, signal, classifyAdd);
      if (r.kind !== 'ok') return r;
      added += r.value.added;
      existed += r.value.existed;
    }
    return ok({ added, existed });
  }
}

/** `X-Organisation` for an alert a rule put in `organisation`; none (the client's thehive.organisation) otherwise. */
function orgHeaders(organisation: string | undefined): Record<string, string> {
  return organisation === undefined ? {} : { 'X-Organisation': organisation };
}

/** A POST of a multipart body, its type and length in the headers. */
function multipartConfig(url: string, mp: MultipartBody): { method: 'POST'; url: string; data: MultipartBody['stream']; headers: Record<string, string | number> } {
  return { method: 'POST', url, data: mp.stream, headers: { 'Content-Type': mp.contentType, 'Content-Length': mp.length } };
}

/** `POST …/observable` or `…/artifact`: 201 (all added) or 207 (some already there). */
function classifyAdd(res: AxiosResponse): OpResult<{ added: number; existed: number }> {
  if (res.status === 201) return readJson(res, 'add observables', (b) => ({ added: Array.isArray(b) ? b.length : 0, existed: 0 }));
  if (res.status === 207) return readJson(res, 'add observables', multiStatus);
  return failure(res, 'add observables');
}

/** Where an alert stands, from whichever shape TheHive sent: 5 (`stage`), 4 v0 (`status`), 4.1 v1 (`read`, `caseId`). */
export function alertStatusOf(body: Record<string, unknown>): Exclude<AlertStatus, 'gone'> {
  const { stage, status, read, caseId } = body;
  if (typeof stage === 'string') return stage === 'New' || stage === 'InProgress' ? 'open' : 'closed';
  if (typeof status === 'string' && ['New', 'Updated', 'Ignored', 'Imported'].includes(status)) return status === 'New' || status === 'Updated' ? 'open' : 'closed';
  if (typeof caseId === 'string' || read === true) return 'closed';
  return 'open';
}

function foundAlert(value: unknown, fallbackId: string): FoundAlert {
  const body = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const id = typeof body['_id'] === 'string' ? body['_id'] : fallbackId;
  const severity = typeof body['severity'] === 'number' && body['severity'] >= 1 && body['severity'] <= 4 ? (body['severity'] as Severity) : 2;
  const tags = Array.isArray(body['tags']) ? body['tags'].filter((t): t is string => typeof t === 'string') : [];
  const sourceRef = typeof body['sourceRef'] === 'string' ? body['sourceRef'] : '';
  return { id, sourceRef, status: alertStatusOf(body), severity, tags };
}

/** `POST …/alert`: created (its id), exists (ours: look it up) or why not. */
function classifyCreate(res: AxiosResponse, requestBytes: number): OpResult<{ readonly id: string; readonly duplicate: boolean }> | { readonly kind: 'exists' } {
  const text = typeof res.data === 'string' ? res.data : '';
  if (res.status >= 200 && res.status < 300) {
    return readJson(res, 'create alert', (b) => {
      const id = b && typeof b === 'object' ? (b as Record<string, unknown>)['_id'] : undefined;
      if (typeof id !== 'string') throw new Error('no _id in the answer');
      return { id, duplicate: false };
    });
  }
  const error = parseError(text);
  if (isAlreadyExists(res.status, error)) return { kind: 'exists' };
  if (res.status === 413) return { kind: 'drop', reason: tooLargeReason(res.status, error, requestBytes), status: 413, body: truncate(text) };
  return failure(res, 'create alert');
}

/** A 2xx answer's JSON read by `pick`; a body that is not what TheHive sends is retried, never trusted. */
function readJson<T>(res: AxiosResponse, what: string, pick: (body: unknown) => T): OpResult<T> {
  if (res.status < 200 || res.status >= 300) return failure(res, what);
  try {
    return ok(pick(JSON.parse(typeof res.data === 'string' ? res.data : '') as unknown));
  } catch (err) {
    return { kind: 'retry', reason: `${what}: HTTP ${res.status} with an answer that is not TheHive's (${(err as Error).message}): is thehive.url TheHive?` };
  }
}

/** A non-2xx answer: auth, redirects and 5xx as for a create; other 4xx are TheHive refusing for good. */
function failure(res: AxiosResponse, what: string): Fail {
  const text = typeof res.data === 'string' ? res.data : '';
  const error = parseError(text);
  const common = commonOutcome(res, error);
  if (common) return common as Fail;
  const reason = `${what}: ${httpReason(res.status, error)}`;
  if (res.status >= 400 && res.status < 500) return { kind: 'drop', reason, status: res.status, body: truncate(text) };
  return { kind: 'retry', reason };
}

/** The alert went away between two requests: retried, so the next flush's GET sees it gone and opens a new one. */
function gone(id: string): Fail {
  return { kind: 'retry', reason: `alert ${id} was deleted in TheHive meanwhile (HTTP 404): the next attempt opens a new alert` };
}

/** 207 `{success, failure}`: failures that say "already exists" are no failure for us. */
function multiStatus(body: unknown): { added: number; existed: number } {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const success = Array.isArray(b['success']) ? b['success'].length : 0;
  const failures = Array.isArray(b['failure']) ? b['failure'] : [];
  return { added: success, existed: failures.length };
}

/** Observables that share dataType, ioc, tags and message go in one request (`data` as a list). */
function groups(observables: readonly Observable[]): Record<string, unknown>[] {
  const byShape = new Map<string, Record<string, unknown> & { data: string[] }>();
  for (const o of observables) {
    const { data, ...shape } = o;
    const key = JSON.stringify(shape);
    const group = byShape.get(key);
    if (group) group.data.push(data);
    else byShape.set(key, { ...shape, data: [data] });
  }
  return [...byShape.values()];
}

function ok<T>(value: T): { readonly kind: 'ok'; readonly value: T } {
  return { kind: 'ok', value };
}
