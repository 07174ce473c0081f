import { GlobalWindow, GlobalWindowCoder, type BoundedWindow, type Coder, type Instant } from '../../coders/index.ts';
import type { WindowFn, WindowMerge } from './window-fn.ts';

/** Beam's GlobalWindows: every element in the one GlobalWindow (the default windowing). */
export class GlobalWindows implements WindowFn<GlobalWindow> {
  private static readonly INSTANCE = new GlobalWindows();
  static of(): GlobalWindows {
    return GlobalWindows.INSTANCE;
  }
  private constructor() {}

  assignWindows(_timestamp: Instant): GlobalWindow[] {
    return [GlobalWindow.INSTANCE];
  }

  isNonMerging(): boolean {
    return true;
  }

  mergeWindows(_windows: readonly GlobalWindow[]): WindowMerge<GlobalWindow>[] {
    return [];
  }

  windowCoder(): Coder<GlobalWindow> {
    return GlobalWindowCoder.of();
  }

  isCompatible(other: WindowFn<BoundedWindow>): boolean {
    return other instanceof GlobalWindows;
  }

  assignsToOneWindow(): boolean {
    return true;
  }

  toString(): string {
    return 'GlobalWindows';
  }
}
