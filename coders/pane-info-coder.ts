import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { PaneInfo, Timing } from './pane-info.ts';
import { CoderError } from './stator-error.ts';

const FIRST = 0x00;
const ONE_INDEX = 0x10;
const TWO_INDICES = 0x20;

/**
 * Beam's PaneInfo.PaneInfoCoder, the pane inside windowed values and timers. The first byte holds
 * isFirst (bit 0), isLast (bit 1), the timing (bits 2-3) and the encoding (bits 4-7):
 * 0 - nothing follows (index 0 and on-time index 0, or an UNKNOWN timing);
 * 1 - one varint, the index (the on-time index is the same, or -1 for an early pane);
 * 2 - two varints, index and on-time index. Deterministic.
 */
export class PaneInfoCoder extends BaseCoder<PaneInfo> {
  private static readonly INSTANCE = new PaneInfoCoder();
  static of(): PaneInfoCoder {
    return PaneInfoCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: PaneInfo, writer: ByteWriter, _context: Context): void {
    if (!(value instanceof PaneInfo))
      throw new CoderError('PaneInfoCoder: expected a PaneInfo (PaneInfo.createPane(...))');
    if ((value.index === 0 && value.nonSpeculativeIndex === 0) || value.timing === Timing.UNKNOWN) {
      writer.writeByte(value.encodedByte | FIRST);
    } else if (value.index === value.nonSpeculativeIndex || value.timing === Timing.EARLY) {
      writer.writeByte(value.encodedByte | ONE_INDEX);
      writer.writeVarLong(value.index);
    } else {
      writer.writeByte(value.encodedByte | TWO_INDICES);
      writer.writeVarLong(value.index);
      writer.writeVarLong(value.nonSpeculativeIndex);
    }
  }

  decode(reader: ByteReader, _context: Context): PaneInfo {
    const offset = reader.position;
    const first = reader.readByte();
    const base = PaneInfo.decodePane(first)!;
    switch (first & 0xf0) {
      case FIRST:
        return base;
      case ONE_INDEX: {
        const index = readIndex(reader);
        return PaneInfo.withIndices(base, index, base.timing === Timing.EARLY ? -1 : index);
      }
      case TWO_INDICES: {
        const index = readIndex(reader);
        return PaneInfo.withIndices(base, index, readIndex(reader));
      }
      default:
        throw new CoderError(
          `PaneInfoCoder: unknown pane encoding ${(first & 0xf0) >> 4} in byte 0x${first.toString(16)} at offset ${offset} (expected 0, 1 or 2)`,
        );
    }
  }

  override minEncodedBytes(): number {
    return 1;
  }
}

function readIndex(reader: ByteReader): number {
  const index = reader.readVarLong();
  if (typeof index !== 'number')
    throw new CoderError(`PaneInfoCoder: pane index ${index} at offset ${reader.position} is beyond 2^53`);
  return index;
}
