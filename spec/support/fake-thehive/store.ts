/**
 * The alerts of one organisation: creation (dedup, custom fields, observable types, in-alert merge),
 * lookup by id or name, observables added later, and the output shapes (thehive-api.md §3.5, §4.1, §4.4–§4.6, §5).
 */
import type { JsonObject } from './fields.js';
import type { AlertInput, ObservableInput } from './input.js';
import type { AlertUpdate } from './update.js';
import { attachmentOf, type FormFile } from './multipart.js';
import type { OutputObservable, StoredAlert } from './types.js';

/** Built-in observable types → isAttachment [src4 `models/ObservableType.scala`, §3.5]. No other type exists. */
export const OBSERVABLE_TYPES: ReadonlyMap<string, boolean> = new Map(
  [
    ...['url', 'other', 'user-agent', 'regexp', 'mail-subject', 'registry', 'mail', 'autonomous-system'],
    ...['domain', 'ip', 'uri_path', 'filename', 'hash', 'file', 'fqdn', 'hostname'],
  ].map((name) => [name, name === 'file']),
);

// 5.2+ labels, upper case (§3.1 TLP renumbering, §4.1). Out-of-range values only reach here through v0,
// which stores any int (§3.2); their label is [infer].
const SEVERITY_LABELS = ['', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const TLP_LABELS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
/** TheHive 4 and 5.0/5.1: RED is 3, and there is no AMBER+STRICT (thehive-api §3.1). */
const TLP_LABELS_BEFORE_5_2 = ['WHITE', 'GREEN', 'AMBER', 'RED'];
const PAP_LABELS = ['CLEAR', 'GREEN', 'AMBER', 'RED'];
const label = (labels: readonly string[], n: number): string => labels[n] || 'UNKNOWN';

const ALERT_KEYS = [
  ...['_id', '_type', '_createdBy', '_updatedBy', '_createdAt', '_updatedAt', 'type', 'source', 'sourceRef'],
  ...['externalLink', 'title', 'description', 'severity', 'severityLabel', 'date', 'tags', 'tlp', 'tlpLabel'],
  ...['pap', 'papLabel', 'follow', 'customFields', 'caseTemplate', 'observableCount', 'caseId', 'status', 'stage', 'assignee', 'summary'],
  ...['extraData', 'newDate', 'timeToDetect'],
] as const;
const OBSERVABLE_KEYS = [
  ...['_id', '_type', '_createdBy', '_updatedBy', '_createdAt', '_updatedAt', 'dataType', 'data', 'startDate'],
  ...['attachment', 'tlp', 'tlpLabel', 'pap', 'papLabel', 'tags', 'ioc', 'sighted', 'sightedAt', 'reports'],
  ...['message', 'extraData', 'ignoreSimilarity', 'external'],
] as const;

/** A fresh plain object with `keys` in order (OpenAPI property order), absent values left out. */
function pick(source: object, keys: readonly string[]): JsonObject {
  const src = source as JsonObject;
  const out: JsonObject = {};
  for (const k of keys) if (src[k] !== undefined) out[k] = structuredClone(src[k]);
  return out;
}

/** 5.x OutputAlert; `fresh` drops `_updatedBy/_updatedAt`, which a create answer never carries (§4.1). */
export function renderAlert(a: StoredAlert, fresh = false): JsonObject {
  return pick(a, fresh ? ALERT_KEYS.filter((k) => !k.startsWith('_updated')) : ALERT_KEYS);
}

/** 5.x OutputObservable. */
export function renderObservable(o: OutputObservable): JsonObject {
  return pick(o, OBSERVABLE_KEYS);
}

/**
 * TheHive 4's alert status, derived from `read` and the case link [src4 v0 `Conversion.scala`]: Imported
 * (in a case), Ignored (read without a case: closed), Updated (changed by its source since), else New.
 */
export function statusV0(a: StoredAlert): 'New' | 'Updated' | 'Ignored' | 'Imported' {
  if (a.stage === 'Imported') return 'Imported';
  if (a.stage === 'Closed') return 'Ignored';
  return a._updatedAt !== undefined && a._updatedAt > a._createdAt ? 'Updated' : 'New';
}

/** v0 OutputAlert [src4 `dto/v0/Alert.scala` writes: Options as null, `_type` "alert", status from read/case]. */
export function renderAlertV0(a: StoredAlert, artifacts: readonly OutputObservable[], fresh = false): JsonObject {
  return {
    ...{ _id: a._id, id: a._id, createdBy: a._createdBy, updatedBy: (!fresh && a._updatedBy) || null },
    ...{ createdAt: a._createdAt, updatedAt: (!fresh && a._updatedAt) || null, _type: 'alert' },
    ...{ type: a.type, source: a.source, sourceRef: a.sourceRef, externalLink: a.externalLink ?? null, case: a.caseId ?? null },
    ...{ title: a.title, description: a.description, severity: a.severity, date: a.date, tags: [...a.tags] },
    ...{ tlp: a.tlp, pap: a.pap, status: fresh ? 'New' : statusV0(a), follow: a.follow, customFields: {}, caseTemplate: null },
    ...{ artifacts: artifacts.map(renderObservableV0), similarCases: [] },
  };
}

/** v0 OutputObservable [src4 `dto/v0/Observable.scala`, `_type` "case_artifact", None fields omitted]. */
function renderObservableV0(o: OutputObservable): JsonObject {
  return pick(
    { ...o, id: o._id, createdBy: o._createdBy, createdAt: o._createdAt, _type: 'case_artifact', stats: {} },
    [...['_id', 'id', 'createdBy', 'createdAt', '_type', 'dataType', 'data', 'startDate', 'attachment', 'tlp', 'tags'], ...['ioc', 'sighted', 'message', 'reports', 'stats', 'ignoreSimilarity']],
  );
}

/** Java `String.split`: trailing empty strings are dropped. */
function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

const error = (status: number, type: string, message: string): { ok: false; status: number; body: JsonObject } => ({
  ok: false,
  status,
  body: { type, message },
});

export type CreateOutcome =
  | { readonly ok: true; readonly alert: StoredAlert; readonly created: readonly OutputObservable[] }
  | { readonly ok: false; readonly status: number; readonly body: JsonObject };

/** What exists in TheHive besides alerts: custom fields, case templates, the ATT&CK catalogue. */
export interface Catalogue {
  readonly customFields: ReadonlyMap<string, string>;
  readonly caseTemplates: ReadonlySet<string>;
  readonly patterns: ReadonlySet<string>;
  /** Playing TheHive 5.0/5.1: TLP 3 is labelled RED. */
  readonly tlpBefore5_2?: boolean;
}

const EMPTY_CATALOGUE: Catalogue = { customFields: new Map(), caseTemplates: new Set(), patterns: new Set() };

/** The alerts of the organisations the stand-in serves (the default one, and any other it is told of). */
export class AlertStore {
  readonly alerts: StoredAlert[] = [];
  #seq = 0;

  readonly organisation: string;
  readonly login: string;
  readonly #catalogue: Catalogue;
  /** Alerts by organisation + `type;source;sourceRef` (TheHive's unique name): the duplicate check must not scan every alert. */
  readonly #byName = new Map<string, StoredAlert>();

  get #tlpLabels(): readonly string[] {
    return this.#catalogue.tlpBefore5_2 === true ? TLP_LABELS_BEFORE_5_2 : TLP_LABELS;
  }

  constructor(organisation: string, login: string, catalogue: Catalogue = EMPTY_CATALOGUE) {
    this.organisation = organisation;
    this.login = login;
    this.#catalogue = catalogue;
  }

  /** `~4120`, `~8216`, … (ids look like JanusGraph ones; one sequence for alerts and observables). */
  #nextId(): string {
    this.#seq += 1;
    return `~${4096 * this.#seq + 24}`;
  }

  /**
   * `~id`, or the name `type;source;sourceRef` [src4 `AlertSrv.getByName` splits on `;`], as
   * `organisation` sees it: an alert of another organisation is not there (TheHive: 404).
   */
  get(idOrName: string, organisation: string = this.organisation): StoredAlert | undefined {
    if (idOrName.startsWith('~')) return this.alerts.find((a) => a._id === idOrName && a.organisation === organisation);
    const parts = javaSplit(idOrName, ';');
    if (parts.length !== 3) return undefined;
    const [type, source, sourceRef] = parts;
    return this.#byName.get(`${organisation}\u0000${type}\u0000${source}\u0000${sourceRef}`);
  }

  /**
   * Creates the alert and its observables in one transaction: any failure leaves nothing behind.
   * Order [src4 `v0/AlertCtrl.create`, `AlertSrv.create`]: duplicate → custom fields → observable types.
   */
  create(input: AlertInput, api: 'v1' | 'v0', now: number, organisation: string = this.organisation, files: ReadonlyMap<string, FormFile> = new Map()): CreateOutcome {
    const { type, source, sourceRef } = input;
    const name = `${organisation}\u0000${type}\u0000${source}\u0000${sourceRef}`;
    if (this.#byName.has(name)) {
      return error(400, 'CreateError', `Alert ${type}:${source}:${sourceRef} already exist in organisation ${organisation}`);
    }
    // A name the stand-in does not define fails the lookup [src4 `AlertSrv.createCustomField`].
    const unknownField = input.customFieldNames.find((n) => !this.#catalogue.customFields.has(n));
    if (unknownField !== undefined) return error(404, 'NotFoundError', `CustomField ${unknownField} not found`);
    // 4.x ignores an unknown case template [src4 `AlertCtrl.create` headOption]; 5.x refuses it [infer].
    if (api === 'v1' && input.caseTemplate !== undefined && !this.#catalogue.caseTemplates.has(input.caseTemplate)) {
      return error(404, 'NotFoundError', `CaseTemplate ${input.caseTemplate} not found`);
    }
    const unknownPattern = (input.procedures ?? []).find((p) => !this.#catalogue.patterns.has(p.patternId));
    if (unknownPattern !== undefined) return error(404, 'NotFoundError', `Pattern ${unknownPattern.patternId} not found`);
    const customFields = input.customFieldNames.map((n, order) => ({ _id: this.#nextId(), name: n, type: this.#catalogue.customFields.get(n) ?? 'string', value: input.customFieldValues?.get(n) ?? null, order }));
    const caseTemplate = input.caseTemplate !== undefined && this.#catalogue.caseTemplates.has(input.caseTemplate) ? input.caseTemplate : undefined;
    const alertId = this.#nextId();
    const created: OutputObservable[] = [];
    for (const obs of input.observables) {
      const isAttachment = OBSERVABLE_TYPES.get(obs.dataType);
      if (isAttachment === undefined) return error(404, 'NotFoundError', `ObservableType ${obs.dataType} not found`);
      if (!isAttachment && obs.attachment !== undefined) return error(400, 'BadRequest', "A text observable doesn't accept attachment");
      if (isAttachment && api === 'v1') {
        // 5.x: the file is the multipart part the observable names (§3.4); text data is refused [src4 ObservableSrv].
        if (obs.data.length > 0) return error(400, 'BadRequest', "A attachment observable doesn't accept string value");
        const file = typeof obs.attachment === 'string' ? files.get(obs.attachment) : undefined;
        // [infer] a part that is not there is a bad request, like any unreadable attribute.
        if (file === undefined) return error(400, 'BadRequest', `Attachment ${JSON.stringify(obs.attachment ?? null)} not found in the multipart body`);
        const made = this.#observable(obs, now, undefined, attachmentOf(file));
        const same = created.find((o) => o.dataType === made.dataType && o.attachment?.id === made.attachment?.id);
        if (same === undefined) created.push(made);
        else mergeInto(same, made); // "Alert can be created even if they contain duplicated observables of type files" (5.0 notes)
        continue;
      }
      for (const data of obs.data) {
        const made = isAttachment ? this.#fileV0(obs, data, now) : this.#observable(obs, now, data);
        if ('status' in made) return made;
        const same = created.find((o) => o.dataType === made.dataType && o.data === made.data && sameFile(o, made));
        if (same === undefined) created.push(made);
        // 5.x merges an in-alert duplicate (5.2.10 notes: tags merged) [infer: ioc/sighted OR-ed, first message
        // kept]; 4.1 v0 drops it silently, first wins [src4 `v0/AlertCtrl.createObservable`].
        else if (api === 'v1') mergeInto(same, made);
      }
    }
    const date = input.date ?? now;
    const severity = input.severity ?? 2;
    const tlp = input.tlp ?? 2;
    const pap = input.pap ?? 2;
    const withObservables = created.length > 0;
    const alert: StoredAlert = compact({
      ...{ _id: alertId, _type: 'Alert', _createdBy: this.login, _createdAt: now, type, source, sourceRef },
      ...{ externalLink: input.externalLink, title: input.title, description: input.description },
      ...{ severity, severityLabel: label(SEVERITY_LABELS, severity), date, tags: [...input.tags] },
      ...{ tlp, tlpLabel: label(this.#tlpLabels, tlp), pap, papLabel: label(PAP_LABELS, pap), follow: true, customFields, caseTemplate },
      ...{ observableCount: created.length, status: input.status ?? 'New', stage: 'New' },
      ...{ assignee: input.assignee, summary: input.summary, extraData: {}, newDate: now },
      // `timeToDetect` = newDate − date [infer from the case sample, §4.1].
      ...{ timeToDetect: now - date, observables: created, organisation, procedures: [...(input.procedures ?? [])] },
      // A GET after an inline-observable create shows `_updated*` (TheHive4py test note, §4.1).
      ...(withObservables ? { _updatedBy: this.login, _updatedAt: now } : {}),
    });
    this.alerts.push(alert);
    this.#byName.set(name, alert);
    return { ok: true, alert, created };
  }

  /**
   * `POST /api/v1/alert/{id}/observable` after the alert was found [src4 `v1/ObservableCtrl.createInAlert`]:
   * blank values skipped, each value its own transaction, 201 array or 207 `{success, failure}`.
   */
  addObservables(alert: StoredAlert, input: ObservableInput, now: number, files: ReadonlyMap<string, FormFile> = new Map()): { status: number; body: unknown } {
    const isAttachment = OBSERVABLE_TYPES.get(input.dataType);
    if (isAttachment === undefined) return error(404, 'NotFoundError', `ObservableType ${input.dataType} not found`);
    const success: JsonObject[] = [];
    const failure: JsonObject[] = [];
    // A file: the part named `attachment` (TheHive4py's create_in_alert / 1.x create_alert_artifact) [infer for 5.x].
    const file = isAttachment && input.data.length === 0 ? files.get(typeof input.attachment === 'string' ? input.attachment : 'attachment') : undefined;
    if (file !== undefined) {
      const attachment = attachmentOf(file);
      if (alert.observables.some((o) => o.dataType === input.dataType && o.attachment?.id === attachment.id)) {
        failure.push({ type: 'CreateError', message: 'Observable already exists', object: { attachment: attachment.name } });
      } else {
        const made = this.#observable(input, now, undefined, attachment);
        alert.observables.push(made);
        success.push(renderObservable(made));
      }
    } else if (isAttachment && input.data.length === 0) {
      return error(400, 'BadRequest', 'A file observable needs a file: a multipart part named attachment');
    }
    for (const data of input.data.filter((d) => [...d].some((c) => c !== ' '))) {
      if (isAttachment) {
        failure.push({ type: 'BadRequest', message: "A attachment observable doesn't accept string value", object: { data } });
      } else if (alert.observables.some((o) => o.dataType === input.dataType && o.data === data)) {
        failure.push({ type: 'CreateError', message: 'Observable already exists', object: { data } });
      } else {
        const made = this.#observable(input, now, data);
        alert.observables.push(made);
        success.push(renderObservable(made));
      }
    }
    if (success.length > 0) Object.assign(alert, { observableCount: alert.observables.length, _updatedBy: this.login, _updatedAt: now });
    return failure.length === 0 ? { status: 201, body: success } : { status: 207, body: { success, failure } };
  }

  /** Applies a validated PATCH (absolute values; `addTags`/`removeTags` on top of `tags`). */
  update(alert: StoredAlert, upd: AlertUpdate, now: number): void {
    const { addTags, removeTags, tags, status, ...plain } = upd;
    Object.assign(alert, plain);
    if (upd.severity !== undefined) alert.severityLabel = label(SEVERITY_LABELS, upd.severity);
    if (upd.tlp !== undefined) alert.tlpLabel = label(this.#tlpLabels, upd.tlp);
    if (upd.pap !== undefined) alert.papLabel = label(PAP_LABELS, upd.pap);
    let next = tags !== undefined ? [...tags] : alert.tags;
    if (removeTags !== undefined) next = next.filter((t) => !removeTags.includes(t));
    for (const t of addTags ?? []) if (!next.includes(t)) next = [...next, t];
    alert.tags = next;
    if (status !== undefined) this.setStatus(alert, status, now);
    Object.assign(alert, { _updatedBy: this.login, _updatedAt: Math.max(now, alert._createdAt + 1) });
  }

  /**
   * Sets the status and the stage it belongs to (TheHive 5: New/InProgress/Imported are their own stage,
   * every other status, FalsePositive, TruePositive, Ignored, Duplicated, Other, closes the alert).
   */
  setStatus(alert: StoredAlert, status: string, now: number, caseId?: string): void {
    alert.status = status;
    alert.stage = status === 'New' || status === 'InProgress' || status === 'Imported' ? status : 'Closed';
    if (caseId !== undefined) alert.caseId = caseId;
    Object.assign(alert, { _updatedBy: this.login, _updatedAt: Math.max(now, alert._createdAt + 1) });
  }

  /** `POST /api/v1/alert/{id}/case`: the alert becomes part of a new case. */
  importIntoCase(alert: StoredAlert, now: number): string {
    const caseId = this.#nextId();
    this.setStatus(alert, 'Imported', now, caseId);
    return caseId;
  }

  /** `DELETE /api/v1/alert/{id}`: gone, its name free again. */
  delete(alert: StoredAlert): void {
    const i = this.alerts.indexOf(alert);
    if (i >= 0) this.alerts.splice(i, 1);
    this.#byName.delete(`${alert.organisation}\u0000${alert.type}\u0000${alert.source}\u0000${alert.sourceRef}`);
  }

  #observable(obs: ObservableInput, now: number, data?: string, attachment?: OutputObservable['attachment']): OutputObservable {
    const tlp = obs.tlp ?? 2;
    const pap = obs.pap ?? 2;
    return compact({
      ...{ _id: this.#nextId(), _type: 'Observable', _createdBy: this.login, _createdAt: now, dataType: obs.dataType },
      ...{ data, startDate: now, attachment, tlp, tlpLabel: label(this.#tlpLabels, tlp), pap, papLabel: label(PAP_LABELS, pap) },
      ...{ tags: [...obs.tags], ioc: obs.ioc ?? false, sighted: obs.sighted ?? false, sightedAt: obs.sightedAt },
      ...{ reports: {}, message: obs.message, extraData: {}, ignoreSimilarity: obs.ignoreSimilarity ?? false, external: false },
    });
  }

  /**
   * v0 file observable: `data` must be `filename;contentType;base64` or `filename;contentType`. Anything else throws
   * an `InvalidFormatAttributeError` inside the transaction, which is no GenericError: 500 with the class name
   * as `type` [src4 `v0/AlertCtrl.createObservable`, ScalliGraph `ErrorHandler.toErrorResult`].
   */
  #fileV0(obs: ObservableInput, data: string, now: number): OutputObservable | { ok: false; status: number; body: JsonObject } {
    const parts = javaSplit(data, ';');
    const [name, contentType, base64 = ''] = parts;
    if ((parts.length !== 2 && parts.length !== 3) || name === undefined || contentType === undefined) {
      const message = `Invalid format for artifacts.data: FString(${parts.join(';')}), expected filename;contentType;base64value ()`;
      return error(500, 'org.thp.scalligraph.InvalidFormatAttributeError', message);
    }
    return this.#observable(obs, now, undefined, { name, contentType, size: Buffer.from(base64, 'base64').length });
  }
}

/** Drops keys whose value is undefined, so stored objects hold only what TheHive would send. */
function compact<T extends object>(o: T): T {
  for (const [k, v] of Object.entries(o)) if (v === undefined) delete (o as Record<string, unknown>)[k];
  return o;
}

function sameFile(a: OutputObservable, b: OutputObservable): boolean {
  return JSON.stringify(a.attachment) === JSON.stringify(b.attachment);
}

function mergeInto(target: OutputObservable, other: OutputObservable): void {
  for (const tag of other.tags) if (!target.tags.includes(tag)) target.tags.push(tag);
  target.ioc ||= other.ioc;
  target.sighted ||= other.sighted;
  target.message ??= other.message;
}
