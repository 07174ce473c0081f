// Wordcount (examples/wordcount.ts: same name, stages and coders, so each restores the other's
// checkpoints) whose tasks' open() waits for the test: a run, or a unit's start, held in its restore
// (JobRuntime calls open() while `restoring`), as long as the test needs.
import { StringUtf8Coder } from '../../src/index.ts';
import { defineJob, json, lines } from '../../runtime/index.ts';
import type { Job } from '../../runtime/index.ts';
import { job as wordcount, WordCount } from '../../examples/wordcount.ts';
import type { WordCountOutput } from '../../examples/wordcount.ts';

export interface HeldOpenWordcount {
  readonly job: Job;
  /** Resolves once a task's open() was called (the restore is held there). */
  readonly opening: Promise<void>;
  /** Lets every open() (held or still to come) return. */
  release(): void;
}

export function heldOpenWordcount(): HeldOpenWordcount {
  let opened!: () => void;
  const opening = new Promise<void>((resolve) => (opened = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  class HeldOpen extends WordCount {
    override async open(): Promise<void> {
      opened();
      await released;
    }
  }
  const job = defineJob({ name: wordcount.name })
    .source(lines())
    .flatMap((line) => line.split(/\s+/).filter((word) => word.length > 0))
    .keyBy((word) => word, StringUtf8Coder.of())
    .process(() => new HeldOpen(), { name: 'count', parallelism: 2 })
    .sink(json<WordCountOutput>());
  return { job, opening, release };
}
