import * as assert from 'uvu/assert';
import { ByteReader, ByteWriter, CoderUtils, Context, type Coder } from '../../../coders/index.ts';

// The checks of Beam Java's org.apache.beam.sdk.testing.CoderProperties that ported coder tests use,
// with stator's equality: `equals` when the value has one, else deep equality.

const same = (a: unknown, b: unknown): boolean => {
  const withEquals = a as { equals?: (o: unknown) => boolean } | null;
  if (withEquals !== null && typeof withEquals === 'object' && typeof withEquals.equals === 'function')
    return withEquals.equals(b);
  try {
    assert.equal(a, b);
    return true;
  } catch {
    return false;
  }
};

/**
 * CoderProperties.coderDecodeEncodeEqual: the value comes back equal in both contexts, and its
 * NESTED bytes are self-delimiting (decoding stops at their end with more bytes after them).
 */
export function coderDecodeEncodeEqual<T>(coder: Coder<T>, value: T): void {
  for (const context of [Context.OUTER, Context.NESTED]) {
    const decoded = CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, value, context), context);
    assert.ok(same(value, decoded), `${coder} ${context}: ${String(value)} came back as ${String(decoded)}`);
  }
  const writer = new ByteWriter(64);
  coder.encode(value, writer, Context.NESTED);
  const length = writer.length;
  writer.writeBytes(new Uint8Array([0xde, 0xad]));
  const reader = new ByteReader(writer.toBytes());
  assert.ok(same(value, coder.decode(reader, Context.NESTED)), `${coder}: NESTED decode with trailing bytes`);
  assert.is(reader.position, length, `${coder}: NESTED decode stops at the end of its own bytes`);
}

/** CoderProperties.coderDeterministic: two equal values encode to the same bytes in both contexts. */
export function coderDeterministic<T>(coder: Coder<T>, a: T, b: T): void {
  coder.verifyDeterministic();
  for (const context of [Context.OUTER, Context.NESTED]) {
    assert.equal(CoderUtils.encodeToByteArray(coder, a, context), CoderUtils.encodeToByteArray(coder, b, context));
  }
}

/** CoderProperties.coderConsistentWithEquals: equal values have equal bytes, unequal ones different bytes. */
export function coderConsistentWithEquals<T>(coder: Coder<T>, a: T, b: T): void {
  const equalBytes = Buffer.from(CoderUtils.encodeToByteArray(coder, a)).equals(
    Buffer.from(CoderUtils.encodeToByteArray(coder, b)),
  );
  assert.is(equalBytes, same(a, b), `${coder}: equality of values and of bytes agree`);
}

/** CoderProperties.structuralValueConsistentWithEquals: equal values have equal structural values. */
export function structuralValueConsistentWithEquals<T>(coder: Coder<T>, a: T, b: T): void {
  assert.is(
    Object.is(coder.structuralValue(a), coder.structuralValue(b)),
    same(a, b),
    `${coder}: structural values agree with equals`,
  );
}

/** CoderProperties.structuralValueDecodeEncodeEqual: a value and its round trip have the same structural value. */
export function structuralValueDecodeEncodeEqual<T>(coder: Coder<T>, value: T): void {
  assert.ok(
    Object.is(coder.structuralValue(value), coder.structuralValue(CoderUtils.clone(coder, value))),
    `${coder}: structural value survives a round trip`,
  );
}

/**
 * CoderProperties.coderEncodesBase64: OUTER bytes as unpadded base64url, as Beam's PrintBase64Encodings writes them.
 */
export function coderEncodesBase64<T>(coder: Coder<T>, values: readonly T[], encodings: readonly string[]): void {
  assert.is(values.length, encodings.length);
  values.forEach((v, i) =>
    assert.is(
      Buffer.from(CoderUtils.encodeToByteArray(coder, v)).toString('base64url'),
      encodings[i],
      `${coder}: ${String(v)}`,
    ),
  );
}
