// Beam's StateNamespaceForTest: a namespace whose stringKey() is the given key.
import type { StateNamespace } from '../../src/state/index.ts';

export class StateNamespaceForTest implements StateNamespace {
  readonly type = 'unresolved' as const;
  readonly window = undefined;
  readonly triggerIndex = undefined;
  constructor(private readonly key: string) {}
  stringKey(): string {
    return this.key;
  }
  equals(other: unknown): boolean {
    return other instanceof StateNamespaceForTest && other.key === this.key;
  }
  toString(): string {
    return this.key;
  }
}
