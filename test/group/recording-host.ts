// A UnitHost of our own for the group tests: it records every call, and a registry shared by the
// hosts of one test process flags any unit started while another host still runs it.
import { setImmediate as yieldOnce } from 'node:timers/promises';
import type { UnitHost, UnitLease, UnitProgress } from '../../runtime/group/index.ts';

export type HostCall =
  | { readonly call: 'start'; readonly unit: string; readonly revision: number }
  | { readonly call: 'stop'; readonly unit: string }
  | { readonly call: 'abandon'; readonly unit: string; readonly reason: string };

/** Who runs each unit across the hosts of this process, and every overlap seen. */
export class UnitRegistry {
  readonly running = new Map<string, string>();
  readonly violations: string[] = [];
  /** unit → the name of every host that started it, in order. */
  readonly history = new Map<string, string[]>();
}

export class RecordingHost implements UnitHost {
  readonly calls: HostCall[] = [];
  readonly running = new Set<string>();

  constructor(
    readonly name: string,
    private readonly registry: UnitRegistry,
    private readonly failStart: (unit: string) => boolean = () => false,
  ) {}

  async start(unit: string, lease: UnitLease): Promise<void> {
    // A real host restores a checkpoint first: let other work interleave.
    await yieldOnce();
    if (this.failStart(unit)) throw new Error(`test host ${this.name} refuses ${unit}`);
    const other = this.registry.running.get(unit);
    if (other !== undefined && other !== this.name)
      this.registry.violations.push(`${this.name} started ${unit} while ${other} runs it`);
    this.registry.running.set(unit, this.name);
    this.registry.history.set(unit, [...(this.registry.history.get(unit) ?? []), this.name]);
    this.running.add(unit);
    this.calls.push({ call: 'start', unit, revision: lease.revision });
  }

  async stop(unit: string): Promise<void> {
    await yieldOnce();
    this.forget(unit);
    this.calls.push({ call: 'stop', unit });
  }

  abandon(unit: string, reason: string): void {
    this.forget(unit);
    this.calls.push({ call: 'abandon', unit, reason });
  }

  describe(unit: string): UnitProgress | undefined {
    return this.running.has(unit)
      ? {
          position: 42,
          lag: 3,
          watermark: 1_700_000_000_000,
          lastCheckpoint: { id: 7, at: '2026-01-01T00:00:00.000Z' },
        }
      : undefined;
  }

  private forget(unit: string): void {
    this.running.delete(unit);
    if (this.registry.running.get(unit) === this.name) this.registry.running.delete(unit);
  }
}
