/**
 * An in-memory `AlertOps` for the lifecycle's unit tests: alerts by id, TheHive's duplicate rule
 * on sourceRef, statuses a test can change, and every request recorded. The real answers (status
 * codes, bodies) are the stand-in TheHive's business (spec/support/fake-thehive); this one tests
 * the lifecycle's decisions.
 */
import type { Alert, Observable, Severity } from '../../src/types.js';
import type { AlertOps, AlertPatch, AlertStatus, FoundAlert, OpResult } from '../../src/lifecycle/types.js';

export interface MemoryAlert {
  readonly id: string;
  readonly sourceRef: string;
  title: string;
  description: string;
  severity: Severity;
  tags: string[];
  observables: Map<string, Observable>;
  status: AlertStatus;
}

export class MemoryHive implements AlertOps {
  readonly alerts = new Map<string, MemoryAlert>();
  readonly requests: string[] = [];
  /** Each request with the organisation it was sent to (`-`: thehive.organisation), e.g. `update tenantA`. */
  readonly organisations: string[] = [];
  /** Every create's body as sent (custom fields, case template, procedures…). */
  readonly creates: Alert[] = [];
  /** The next requests fail this way (a queue of outcomes). */
  readonly failures: Exclude<OpResult<unknown>, { kind: 'ok' }>[] = [];
  #next = 1;

  bySourceRef(sourceRef: string): MemoryAlert | undefined {
    for (const a of this.alerts.values()) if (a.sourceRef === sourceRef) return a;
    return undefined;
  }

  async create(alert: Alert): Promise<OpResult<{ id: string; duplicate: boolean }>> {
    this.requests.push(`create ${alert.sourceRef}`);
    this.organisations.push(`create ${alert.meta?.organisation ?? '-'}`);
    this.creates.push(alert);
    const failure = this.failures.shift();
    if (failure) return failure;
    const existing = this.bySourceRef(alert.sourceRef);
    if (existing) return { kind: 'ok', value: { id: existing.id, duplicate: true } };
    const id = `~${this.#next++}`;
    this.alerts.set(id, {
      id,
      sourceRef: alert.sourceRef,
      title: alert.title,
      description: alert.description,
      severity: alert.severity,
      tags: [...alert.tags],
      observables: new Map(alert.observables.map((o) => [`${o.dataType}\u0000${o.data}`, o])),
      status: 'open',
    });
    return { kind: 'ok', value: { id, duplicate: false } };
  }

  async get(id: string, _signal?: AbortSignal, organisation?: string): Promise<OpResult<FoundAlert | { id: string; status: 'gone' }>> {
    this.requests.push(`get ${id}`);
    this.organisations.push(`get ${organisation ?? '-'}`);
    const failure = this.failures.shift();
    if (failure) return failure;
    const a = this.alerts.get(id);
    if (!a || a.status === 'gone') return { kind: 'ok', value: { id, status: 'gone' } };
    return { kind: 'ok', value: { id, sourceRef: a.sourceRef, status: a.status, severity: a.severity, tags: [...a.tags] } };
  }

  async update(id: string, patch: AlertPatch, _signal?: AbortSignal, organisation?: string): Promise<OpResult<void>> {
    this.requests.push(`update ${id}`);
    this.organisations.push(`update ${organisation ?? '-'}`);
    const failure = this.failures.shift();
    if (failure) return failure;
    const a = this.alerts.get(id);
    if (!a) return { kind: 'drop', reason: 'HTTP 404 NotFoundError: Alert not found', status: 404 };
    if (patch.title !== undefined) a.title = patch.title;
    if (patch.description !== undefined) a.description = patch.description;
    if (patch.severity !== undefined) a.severity = patch.severity;
    for (const t of patch.addTags ?? []) if (!a.tags.includes(t)) a.tags.push(t);
    a.tags = a.tags.filter((t) => !(patch.removeTags ?? []).includes(t));
    return { kind: 'ok', value: undefined };
  }

  async addObservables(id: string, observables: readonly Observable[], _signal?: AbortSignal, organisation?: string): Promise<OpResult<{ added: number; existed: number }>> {
    this.requests.push(`observables ${id} ${observables.length}`);
    this.organisations.push(`observables ${organisation ?? '-'}`);
    const failure = this.failures.shift();
    if (failure) return failure;
    const a = this.alerts.get(id);
    if (!a) return { kind: 'drop', reason: 'HTTP 403 AuthorizationError', status: 403 };
    let added = 0;
    for (const o of observables) {
      const k = `${o.dataType}\u0000${o.data}`;
      if (a.observables.has(k)) continue;
      a.observables.set(k, o);
      added++;
    }
    return { kind: 'ok', value: { added, existed: observables.length - added } };
  }

  async find(by: { sourceRef: string } | { tag: string }): Promise<OpResult<FoundAlert | null>> {
    this.requests.push(`find ${JSON.stringify(by)}`);
    const list = [...this.alerts.values()].filter((a) => ('sourceRef' in by ? a.sourceRef === by.sourceRef : a.tags.includes(by.tag)));
    const a = list.at(-1);
    return { kind: 'ok', value: a ? { id: a.id, sourceRef: a.sourceRef, status: a.status, severity: a.severity, tags: [...a.tags] } : null };
  }
}
