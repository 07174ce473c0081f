import { BooleanCoder } from './boolean-coder.ts';
import { ByteArrayCoder } from './byte-array-coder.ts';
import type { Coder } from './coder.ts';
import { DoubleCoder } from './double-coder.ts';
import { GlobalWindowCoder } from './global-window-coder.ts';
import { IntervalWindowCoder } from './interval-window-coder.ts';
import { IterableCoder } from './iterable-coder.ts';
import { KvCoder } from './kv-coder.ts';
import { LengthPrefixCoder } from './length-prefix-coder.ts';
import { NullableCoder } from './nullable-coder.ts';
import { ParamWindowedValueCoder } from './param-windowed-value-coder.ts';
import { ShardedKeyCoder } from './sharded-key-coder.ts';
import { StateBackedIterableCoder } from './state-backed-iterable-coder.ts';
import { CoderError } from './stator-error.ts';
import { StringUtf8Coder } from './string-utf8-coder.ts';
import { TimerCoder } from './timer-coder.ts';
import { TimestampPrefixingWindowCoder } from './timestamp-prefixing-window-coder.ts';
import { VarLongCoder } from './var-long-coder.ts';
import { WindowedValueCoder } from './windowed-value-coder.ts';

/** A coder described by URN and component coders, as in Beam's runner API (`RunnerApi.Coder`). */
export interface CoderSpec {
  readonly urn: string;
  readonly components?: readonly CoderSpec[];
  /** The coder's parameters, for URNs that take some (`param_windowed_value`: the fixed windowed value). */
  readonly payload?: Uint8Array;
}

/** Builds a coder for one URN from its component coders (already built, in order) and its payload. */
export type CoderFactory = (components: readonly Coder<unknown>[], payload: Uint8Array | undefined) => Coder<unknown>;

interface Entry {
  readonly componentCount: number;
  readonly factory: CoderFactory;
}

/**
 * Maps coder URNs to coder factories, so a coder can be rebuilt from a URN and components (for
 * example from a checkpoint's description of its state coders).
 *
 * Nothing registers itself: a registry holds exactly what was put in it, either through
 * `CoderRegistry.withStandardCoders()` (Beam's standard URNs that stator implements) or `register`.
 * Each registry is independent; there is no global one.
 */
export class CoderRegistry {
  private readonly entries = new Map<string, Entry>();

  /** A registry with no URNs. */
  static empty(): CoderRegistry {
    return new CoderRegistry();
  }

  /**
   * A registry with Beam's standard coders that stator implements: bytes, bool, string_utf8,
   * varint, double, kv, iterable, nullable, length_prefix, global_window, interval_window, timer,
   * windowed_value, param_windowed_value (its payload required), sharded_key, custom_window and
   * state_backed_iterable (without access to a state store: a decoded token cannot be iterated
   * past its prefix; register your own factory with `readState` for that). Not included: row.
   */
  static withStandardCoders(): CoderRegistry {
    const registry = new CoderRegistry();
    registry.register(ByteArrayCoder.URN, 0, () => ByteArrayCoder.of());
    registry.register(BooleanCoder.URN, 0, () => BooleanCoder.of());
    registry.register(StringUtf8Coder.URN, 0, () => StringUtf8Coder.of());
    registry.register(VarLongCoder.URN, 0, () => VarLongCoder.of());
    registry.register(DoubleCoder.URN, 0, () => DoubleCoder.of());
    registry.register(GlobalWindowCoder.URN, 0, () => GlobalWindowCoder.of());
    registry.register(IntervalWindowCoder.URN, 0, () => IntervalWindowCoder.of());
    registry.register(KvCoder.URN, 2, ([k, v]) => KvCoder.of(k!, v!));
    registry.register(IterableCoder.URN, 1, ([e]) => IterableCoder.of(e!));
    registry.register(NullableCoder.URN, 1, ([v]) => NullableCoder.of(v!));
    registry.register(LengthPrefixCoder.URN, 1, ([v]) => LengthPrefixCoder.of(v!));
    registry.register(TimerCoder.URN, 2, ([k, w]) => TimerCoder.of(k!, w as never));
    registry.register(WindowedValueCoder.URN, 2, ([v, w]) => WindowedValueCoder.of(v!, w as never));
    registry.register(ParamWindowedValueCoder.URN, 2, ([v, w], payload) => {
      if (payload === undefined)
        throw new CoderError(
          `coder URN ${ParamWindowedValueCoder.URN} needs a payload (the encoded timestamp, windows and pane)`,
        );
      return ParamWindowedValueCoder.of(v!, w as never, payload);
    });
    registry.register(ShardedKeyCoder.URN, 1, ([k]) => ShardedKeyCoder.of(k!));
    registry.register(TimestampPrefixingWindowCoder.URN, 1, ([w]) => TimestampPrefixingWindowCoder.of(w as never));
    registry.register(StateBackedIterableCoder.URN, 1, ([e]) => StateBackedIterableCoder.of(e!));
    return registry;
  }

  /**
   * Adds (or replaces) the factory for `urn`, which takes exactly `componentCount` components.
   * @returns this registry, for chaining.
   */
  register(urn: string, componentCount: number, factory: CoderFactory): this {
    if (typeof urn !== 'string' || urn.length === 0)
      throw new CoderError('CoderRegistry.register: the URN must be a non-empty string');
    if (!Number.isInteger(componentCount) || componentCount < 0) {
      throw new CoderError(`CoderRegistry.register: componentCount for ${urn} must be a non-negative integer`);
    }
    this.entries.set(urn, { componentCount, factory });
    return this;
  }

  /** Whether `urn` has a factory. */
  has(urn: string): boolean {
    return this.entries.has(urn);
  }

  /** The registered URNs, in registration order. */
  urns(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * The coder for `urn` built from `components`.
   * @throws CoderError when the URN is unknown or the number of components is wrong.
   */
  fromUrn(urn: string, components: readonly Coder<unknown>[] = [], payload?: Uint8Array): Coder<unknown> {
    const entry = this.entries.get(urn);
    if (entry === undefined) {
      throw new CoderError(
        `no coder registered for URN ${urn}; known: ${this.urns().join(', ') || 'none'}. Register it with CoderRegistry.register`,
      );
    }
    if (components.length !== entry.componentCount) {
      throw new CoderError(`coder URN ${urn} takes ${entry.componentCount} component coders, got ${components.length}`);
    }
    return entry.factory(components, payload);
  }

  /** The coder a spec describes, components built recursively. */
  fromSpec(spec: CoderSpec): Coder<unknown> {
    const components = (spec.components ?? []).map((c) => this.fromSpec(c));
    return this.fromUrn(spec.urn, components, spec.payload);
  }

  /**
   * The spec of `coder`: its URN and its components' specs.
   * @throws CoderError when the coder or a component has no URN registered here.
   */
  toSpec(coder: Coder<unknown>): CoderSpec {
    const urn = coder.urn;
    if (urn === undefined || !this.entries.has(urn)) {
      throw new CoderError(
        `${coder.toString()} has no URN in this registry; only registered coders can be described by a spec`,
      );
    }
    const args = coder.getCoderArguments();
    const payload = (coder as { payload?: unknown }).payload;
    return {
      urn,
      ...(args.length === 0 ? {} : { components: args.map((c) => this.toSpec(c)) }),
      ...(payload instanceof Uint8Array ? { payload } : {}),
    };
  }
}
