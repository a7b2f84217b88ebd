/**
 * Where the listener's lines are mapped (issue 15, `tcp.mapWorker`): at accept on the map worker
 * thread, or on the main thread as the feeder reads them (as before the worker existed). Pure.
 */

/** The choice and why, for the start-up log. */
export interface MapMode {
  readonly where: 'worker' | 'feeder';
  readonly why: string;
}

export interface MapModeInput {
  readonly setting: 'auto' | 'on' | 'off';
  /** Cores the process may use (os.availableParallelism()). */
  readonly cores: number;
  /** Some target runs the alert lifecycle: it groups parsed records, so lines must reach it unmapped. */
  readonly lifecycle: boolean;
  /** Every target's sink takes v1 bodies as they are (Sink.wire). */
  readonly wire: boolean;
}

export function mapModeOf(input: MapModeInput): MapMode {
  if (input.setting === 'off') return { where: 'feeder', why: 'tcp.mapWorker is off' };
  if (input.setting === 'auto' && input.cores < 2) return { where: 'feeder', why: `tcp.mapWorker is auto and this machine has ${input.cores} core` };
  if (input.lifecycle) return { where: 'feeder', why: 'the alert lifecycle is on (alert.updateWindowMs > 0): it groups parsed detections' };
  if (!input.wire) return { where: 'feeder', why: 'thehive.api is v0: bodies are encoded for TheHive 4 as they are sent' };
  return { where: 'worker', why: input.setting === 'on' ? 'tcp.mapWorker is on' : `tcp.mapWorker is auto and this machine has ${input.cores} cores` };
}
