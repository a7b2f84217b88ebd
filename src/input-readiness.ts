/**
 * `/readyz`: what a load balancer asks, "does this instance accept input?", from a snapshot of
 * serve's state. A TheHive outage is not a reason to say no (the spool absorbs it); that is
 * `/readyz/delivery`. Pure.
 */
import type { ReadyState } from './http/admin.js';

export interface InputState {
  /** The spool is open (false before start() opened it, and after stop() closed it). */
  readonly spoolOpen: boolean;
  /** Why the spool cannot be written (path and errno), or null. */
  readonly blocked: string | null;
  readonly atMaxBytes: boolean;
  readonly maxBytes: number;
  /** Why the input gate is closed (budgets over their cap…). */
  readonly gateReasons: readonly string[];
  /** The CyberTrace listener is configured, and whether it listens. */
  readonly tcpEnabled: boolean;
  readonly tcpListening: boolean;
  readonly stopping: boolean;
}

export function inputReadiness(s: InputState): ReadyState {
  const reasons: string[] = [];
  if (!s.spoolOpen && !s.stopping) reasons.push('the spool is not open yet');
  if (s.blocked) reasons.push(`the spool cannot be written (${s.blocked}): input is paused until a write succeeds; free space on the disk of spool.dir`);
  if (s.atMaxBytes) reasons.push(`the spool is full (spool.maxBytes ${s.maxBytes}): input is paused until deliveries free space`);
  reasons.push(...s.gateReasons);
  if (s.tcpEnabled && !s.tcpListening && !s.stopping) reasons.push('the CyberTrace listener is not listening');
  if (s.stopping) reasons.push('shutting down');
  return { ready: reasons.length === 0, reasons };
}
