// A port of Apache Beam's runners-core StateNamespacesTest, keeping Beam's test names.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GlobalWindow,
  GlobalWindowCoder,
  IntervalWindow,
  IntervalWindowCoder,
  type BoundedWindow,
  type Coder,
} from '../../coders/index.ts';
import { StateNamespaces, type StateNamespace } from '../../src/state/index.ts';

const test = suite('StateNamespacesTest');
const intervalCoder = IntervalWindowCoder.of();
const intervalWindow = (start: number, end: number): IntervalWindow => new IntervalWindow(start, end);

function assertStringKeyRoundTrips(coder: Coder<BoundedWindow>, namespace: StateNamespace): void {
  const back = StateNamespaces.fromString(namespace.stringKey(), coder);
  assert.ok(namespace.equals(back), `${namespace.toString()} round-trips`);
  assert.is(back.stringKey(), namespace.stringKey());
}

/**
 * This test should not be changed. It verifies that the stringKey matches certain expectations.
 * If this changes, the ability to reload any pipeline that has persisted these namespaces will be
 * impacted.
 */
test('testStability', () => {
  const global = StateNamespaces.global();
  const intervalWindowNs = StateNamespaces.window(intervalCoder, intervalWindow(1000, 87392));
  const intervalWindowAndTrigger = StateNamespaces.windowAndTrigger(intervalCoder, intervalWindow(1000, 87392), 57);
  const globalWindow = StateNamespaces.window(GlobalWindowCoder.of(), GlobalWindow.INSTANCE);
  const globalWindowAndTrigger = StateNamespaces.windowAndTrigger(GlobalWindowCoder.of(), GlobalWindow.INSTANCE, 12);

  assert.is(global.stringKey(), '/');
  assert.is(intervalWindowNs.stringKey(), '/gAAAAAABVWD4ogU/');
  assert.is(intervalWindowAndTrigger.stringKey(), '/gAAAAAABVWD4ogU/1L/');
  assert.is(globalWindow.stringKey(), '//');
  assert.is(globalWindowAndTrigger.stringKey(), '//C/');
});

/** Test that WindowAndTrigger namespaces are prefixed by the related Window namespace. */
test('testIntervalWindowPrefixing', () => {
  const window = StateNamespaces.window(intervalCoder, intervalWindow(1000, 87392));
  const windowAndTrigger = StateNamespaces.windowAndTrigger(intervalCoder, intervalWindow(1000, 87392), 57);
  assert.ok(windowAndTrigger.stringKey().startsWith(window.stringKey()));
  assert.not.ok(StateNamespaces.global().stringKey().startsWith(window.stringKey()));
});

/** Test that WindowAndTrigger namespaces are prefixed by the related Window namespace. */
test('testGlobalWindowPrefixing', () => {
  const window = StateNamespaces.window(GlobalWindowCoder.of(), GlobalWindow.INSTANCE);
  const windowAndTrigger = StateNamespaces.windowAndTrigger(GlobalWindowCoder.of(), GlobalWindow.INSTANCE, 57);
  assert.ok(windowAndTrigger.stringKey().startsWith(window.stringKey()));
  assert.not.ok(StateNamespaces.global().stringKey().startsWith(window.stringKey()));
});

test('testFromStringGlobal', () => {
  assertStringKeyRoundTrips(intervalCoder as Coder<BoundedWindow>, StateNamespaces.global());
});

test('testFromStringIntervalWindow', () => {
  const coder = intervalCoder as Coder<BoundedWindow>;
  assertStringKeyRoundTrips(coder, StateNamespaces.window(intervalCoder, intervalWindow(1000, 8000)));
  assertStringKeyRoundTrips(coder, StateNamespaces.window(intervalCoder, intervalWindow(1000, 8000)));

  assertStringKeyRoundTrips(coder, StateNamespaces.windowAndTrigger(intervalCoder, intervalWindow(1000, 8000), 18));
  assertStringKeyRoundTrips(coder, StateNamespaces.windowAndTrigger(intervalCoder, intervalWindow(1000, 8000), 19));
  assertStringKeyRoundTrips(coder, StateNamespaces.windowAndTrigger(intervalCoder, intervalWindow(2000, 8000), 19));
});

test('testFromStringGlobalWindow', () => {
  const coder = GlobalWindowCoder.of() as Coder<BoundedWindow>;
  assertStringKeyRoundTrips(coder, StateNamespaces.global());
  assertStringKeyRoundTrips(coder, StateNamespaces.window(GlobalWindowCoder.of(), GlobalWindow.INSTANCE));
  assertStringKeyRoundTrips(coder, StateNamespaces.windowAndTrigger(GlobalWindowCoder.of(), GlobalWindow.INSTANCE, 18));
});

test.run();
