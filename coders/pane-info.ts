import { CoderError } from './stator-error.ts';

/**
 * When a pane fired relative to the watermark (Beam's PaneInfo.Timing). The order is part of the
 * wire format: PaneInfoCoder writes the position in `PANE_TIMINGS` into two bits.
 */
export const Timing = { EARLY: 'EARLY', ON_TIME: 'ON_TIME', LATE: 'LATE', UNKNOWN: 'UNKNOWN' } as const;
export type Timing = (typeof Timing)[keyof typeof Timing];

/** The timings in Beam's ordinal order (EARLY = 0 ... UNKNOWN = 3). */
export const PANE_TIMINGS: readonly Timing[] = [Timing.EARLY, Timing.ON_TIME, Timing.LATE, Timing.UNKNOWN];

function encodedByteOf(isFirst: boolean, isLast: boolean, timing: Timing): number {
  return (isFirst ? 1 : 0) | (isLast ? 2 : 0) | (PANE_TIMINGS.indexOf(timing) << 2);
}

/**
 * Which firing of a window an element belongs to (Beam's PaneInfo): first/last pane, its timing,
 * its index among all firings and among non-early ("on-time index", -1 for early panes).
 *
 * As in Beam Java, `createPane` returns one shared instance per (isFirst, isLast, timing) for a first
 * pane or an UNKNOWN timing, ignoring the indices given; other panes are new objects compared with
 * `equals`.
 */
export class PaneInfo {
  private static readonly BY_BYTE = new Map<number, PaneInfo>();

  static {
    for (const timing of PANE_TIMINGS) {
      const onTimeIndex = timing === Timing.EARLY ? -1 : 0;
      for (const [isFirst, isLast, index] of [
        [true, true, 0],
        [true, false, 0],
        [false, true, -1],
        [false, false, -1],
      ] as const) {
        const pane = new PaneInfo(isFirst, isLast, timing, index, onTimeIndex);
        PaneInfo.BY_BYTE.set(encodedByteOf(isFirst, isLast, timing), pane);
      }
    }
  }

  /** The pane of an element not produced by a trigger firing (Beam's NO_FIRING). */
  static readonly NO_FIRING = PaneInfo.createPane(true, true, Timing.UNKNOWN, 0, 0);
  /** The only pane of a window that fires once, on time. */
  static readonly ON_TIME_AND_ONLY_FIRING = PaneInfo.createPane(true, true, Timing.ON_TIME, 0, 0);

  /** Bits 0-3 of PaneInfoCoder's first byte: isFirst, isLast, timing. */
  readonly encodedByte: number;

  private constructor(
    readonly isFirst: boolean,
    readonly isLast: boolean,
    readonly timing: Timing,
    /** Zero-based index of this firing of the window. */
    readonly index: number,
    /** Zero-based index among non-early firings; -1 for early panes. */
    readonly nonSpeculativeIndex: number,
  ) {
    this.encodedByte = encodedByteOf(isFirst, isLast, timing);
  }

  /**
   * Beam's PaneInfo.createPane. Without indices the pane must be a first one (index 0).
   * @throws CoderError for an unknown timing, a non-first pane without indices, or an index that is
   * not a safe integer.
   */
  static createPane(isFirst: boolean, isLast: boolean, timing: Timing, index?: number, onTimeIndex?: number): PaneInfo {
    if (!PANE_TIMINGS.includes(timing))
      throw new CoderError(`PaneInfo: unknown timing ${String(timing)}; use one of ${PANE_TIMINGS.join(', ')}`);
    if (index === undefined || onTimeIndex === undefined) {
      if (!isFirst)
        throw new CoderError('PaneInfo.createPane: indices must be provided for a pane that is not the first');
      return PaneInfo.BY_BYTE.get(encodedByteOf(true, isLast, timing))!;
    }
    if (isFirst || timing === Timing.UNKNOWN) return PaneInfo.BY_BYTE.get(encodedByteOf(isFirst, isLast, timing))!;
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(onTimeIndex)) {
      throw new CoderError(`PaneInfo: index ${index} and on-time index ${onTimeIndex} must be safe integers`);
    }
    return new PaneInfo(isFirst, isLast, timing, index, onTimeIndex);
  }

  /** The shared pane for bits 0-3 of an encoded byte, or undefined when the timing bits are invalid. */
  static decodePane(encodedByte: number): PaneInfo | undefined {
    return PaneInfo.BY_BYTE.get(encodedByte & 0x0f);
  }

  /** A pane read by PaneInfoCoder with explicit indices (internal to the coder). */
  static withIndices(base: PaneInfo, index: number, onTimeIndex: number): PaneInfo {
    return new PaneInfo(base.isFirst, base.isLast, base.timing, index, onTimeIndex);
  }

  isUnknown(): boolean {
    return this.timing === Timing.UNKNOWN;
  }

  equals(other: unknown): boolean {
    return (
      other === this ||
      (other instanceof PaneInfo &&
        other.encodedByte === this.encodedByte &&
        other.index === this.index &&
        other.nonSpeculativeIndex === this.nonSpeculativeIndex)
    );
  }

  toString(): string {
    if (this === PaneInfo.NO_FIRING) return 'PaneInfo.NO_FIRING';
    const parts = [
      this.isFirst ? 'isFirst=true' : '',
      this.isLast ? 'isLast=true' : '',
      `timing=${this.timing}`,
      `index=${this.index}`,
    ];
    if (this.nonSpeculativeIndex !== -1) parts.push(`onTimeIndex=${this.nonSpeculativeIndex}`);
    return `PaneInfo{${parts.filter((p) => p !== '').join(', ')}}`;
  }
}
