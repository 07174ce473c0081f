import { CoderUtils, type BoundedWindow, type Coder } from '../../coders/index.ts';
import { StateError } from './state-errors.ts';

/**
 * The row of the state table: which window (and trigger) a cell belongs to (Beam's StateNamespace).
 * Two namespaces are the same row exactly when their `stringKey()`s are equal.
 */
export interface StateNamespace {
  /** 'global', 'window', 'windowAndTrigger', or 'unresolved' for a restored key without a window coder. */
  readonly type: 'global' | 'window' | 'windowAndTrigger' | 'unresolved';
  /**
   * Beam's string form: `/` for global; `/<window>/` for a window; `/<window>/<index>/` with a
   * trigger index, where <window> is the unpadded base64url of the window's OUTER encoding and
   * <index> is the trigger index in base 36, upper case.
   */
  stringKey(): string;
  /** The window, for window namespaces (undefined for global and unresolved). */
  readonly window: BoundedWindow | undefined;
  /** The trigger index, for windowAndTrigger namespaces. */
  readonly triggerIndex: number | undefined;
  equals(other: unknown): boolean;
  toString(): string;
}

class Namespace implements StateNamespace {
  constructor(
    readonly type: StateNamespace['type'],
    private readonly key: string,
    readonly window: BoundedWindow | undefined,
    readonly triggerIndex: number | undefined,
  ) {}
  stringKey(): string {
    return this.key;
  }
  equals(other: unknown): boolean {
    return other instanceof Namespace && other.key === this.key;
  }
  toString(): string {
    switch (this.type) {
      case 'global':
        return 'Global';
      case 'window':
        return `Window(${String(this.window)})`;
      case 'windowAndTrigger':
        return `WindowAndTrigger(${String(this.window)},${this.triggerIndex})`;
      default:
        return `Namespace(${this.key})`;
    }
  }
}

const GLOBAL = new Namespace('global', '/', undefined, undefined);

function encodeWindow<W extends BoundedWindow>(windowCoder: Coder<W>, window: W): string {
  // Beam: CoderUtils.encodeToBase64 = base64url without padding of the OUTER encoding.
  return Buffer.from(CoderUtils.encodeToByteArray(windowCoder, window)).toString('base64url');
}

/** Factories for namespaces, as Beam's StateNamespaces. The string key is computed once, here. */
export const StateNamespaces = {
  /** State global to the current key. */
  global(): StateNamespace {
    return GLOBAL;
  },
  /** State scoped to one window of the current key. */
  window<W extends BoundedWindow>(windowCoder: Coder<W>, window: W): StateNamespace {
    return new Namespace('window', `/${encodeWindow(windowCoder, window)}/`, window, undefined);
  },
  /** State scoped to one window and one trigger of the current key. */
  windowAndTrigger<W extends BoundedWindow>(windowCoder: Coder<W>, window: W, triggerIndex: number): StateNamespace {
    if (!Number.isInteger(triggerIndex) || triggerIndex < -0x80000000 || triggerIndex > 0x7fffffff) {
      throw new StateError(`trigger index ${triggerIndex} is not a 32-bit integer`);
    }
    const index = triggerIndex.toString(36).toUpperCase();
    return new Namespace('windowAndTrigger', `/${encodeWindow(windowCoder, window)}/${index}/`, window, triggerIndex);
  },
  /**
   * The namespace with this string key (Beam's StateNamespaces.fromString). Without a window coder a
   * window namespace cannot be decoded: it comes back 'unresolved', still equal to the original row.
   * @throws StateError on a malformed string key.
   */
  fromString<W extends BoundedWindow>(stringKey: string, windowCoder?: Coder<W>): StateNamespace {
    if (stringKey === '/') return GLOBAL;
    const parts = stringKey.split('/');
    if (!stringKey.startsWith('/') || !stringKey.endsWith('/') || (parts.length !== 3 && parts.length !== 4)) {
      throw new StateError(
        `invalid namespace string '${stringKey}': expected '/', '/<window>/' or '/<window>/<index>/'`,
      );
    }
    if (windowCoder === undefined) return new Namespace('unresolved', stringKey, undefined, undefined);
    try {
      const window = CoderUtils.decodeFromByteArray(windowCoder, Buffer.from(parts[1]!, 'base64url'));
      if (parts.length === 4) {
        const index = Number.parseInt(parts[2]!, 36);
        return StateNamespaces.windowAndTrigger(windowCoder, window, index);
      }
      return StateNamespaces.window(windowCoder, window);
    } catch (cause) {
      throw new StateError(`invalid namespace string '${stringKey}' for ${windowCoder.toString()}`, { cause });
    }
  },
};
