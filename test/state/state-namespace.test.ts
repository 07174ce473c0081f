import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GlobalWindow, GlobalWindowCoder, IntervalWindow, IntervalWindowCoder } from '../../coders/index.ts';
import { StateNamespaces } from '../../src/state/index.ts';

// IntervalWindow(0, 1000) under Beam's IntervalWindowCoder: end as InstantCoder (1000 + 2^63, 8 bytes
// big-endian: 80 00 00 00 00 00 03 E8) then the duration as a varint (1000: E8 07).
// base64url by hand: [80 00 00]=gAAA [00 00 00]=AAAA [03 E8 E8]=A-jo [07]=Bw (no padding).
const WINDOW_B64 = 'gAAAAAAAA-joBw';

test('namespace - global is a single slash', () => {
  assert.is(StateNamespaces.global().stringKey(), '/');
  assert.ok(StateNamespaces.global().equals(StateNamespaces.global()));
});

test('namespace - window is the unpadded base64url of the outer-encoded window between slashes', () => {
  const ns = StateNamespaces.window(IntervalWindowCoder.of(), new IntervalWindow(0, 1000));
  assert.is(ns.stringKey(), `/${WINDOW_B64}/`);
});

test('namespace - the global window encodes to no bytes, so its namespace is two slashes', () => {
  assert.is(StateNamespaces.window(GlobalWindowCoder.of(), GlobalWindow.INSTANCE).stringKey(), '//');
});

test('namespace - window and trigger appends the index in upper-case base 36', () => {
  const w = new IntervalWindow(0, 1000);
  assert.is(StateNamespaces.windowAndTrigger(IntervalWindowCoder.of(), w, 0).stringKey(), `/${WINDOW_B64}/0/`);
  assert.is(StateNamespaces.windowAndTrigger(IntervalWindowCoder.of(), w, 35).stringKey(), `/${WINDOW_B64}/Z/`);
  assert.is(StateNamespaces.windowAndTrigger(IntervalWindowCoder.of(), w, 36).stringKey(), `/${WINDOW_B64}/10/`);
});

test('namespace - equal windows give equal namespaces; different trigger indexes do not', () => {
  const a = StateNamespaces.window(IntervalWindowCoder.of(), new IntervalWindow(0, 1000));
  const b = StateNamespaces.window(IntervalWindowCoder.of(), new IntervalWindow(0, 1000));
  assert.ok(a.equals(b));
  const t1 = StateNamespaces.windowAndTrigger(IntervalWindowCoder.of(), new IntervalWindow(0, 1000), 1);
  const t2 = StateNamespaces.windowAndTrigger(IntervalWindowCoder.of(), new IntervalWindow(0, 1000), 2);
  assert.not.ok(t1.equals(t2));
  assert.not.ok(a.equals(t1));
});

test('namespace - fromString round-trips with a window coder and stays unresolved without one', () => {
  const coder = IntervalWindowCoder.of();
  const w = new IntervalWindow(5000, 65000);
  for (const ns of [
    StateNamespaces.global(),
    StateNamespaces.window(coder, w),
    StateNamespaces.windowAndTrigger(coder, w, 77),
  ]) {
    const back = StateNamespaces.fromString(ns.stringKey(), coder);
    assert.is(back.stringKey(), ns.stringKey());
    assert.is(back.type, ns.type);
  }
  const unresolved = StateNamespaces.fromString(StateNamespaces.window(coder, w).stringKey());
  assert.is(unresolved.type, 'unresolved');
  assert.ok(unresolved.equals(StateNamespaces.fromString(StateNamespaces.window(coder, w).stringKey())));
  assert.throws(
    () => StateNamespaces.fromString('nope'),
    (e: { code: string }) => e.code === 'STATE_ERROR',
  );
});

test.run();
