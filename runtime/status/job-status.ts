import { hostname } from 'node:os';
import type { Subscription } from 'rxjs';
import { watermarkTime } from '../job-view.ts';
import type { ConnectionView, InputLag } from '../job-view.ts';
import type { ObservedRuntime } from '../job-endpoints.ts';
import type { Logger } from '../log.ts';
import { redactCredentials } from '../redact.ts';
import { readinessOf } from '../readiness.ts';
import type { Readiness } from '../readiness.ts';

/** What `/status.json` answers (and the status page shows). Times are epoch millis. */
export interface JobStatus {
  readonly job: string;
  readonly state: string;
  readonly readiness: Readiness;
  /** Who runs the partitions shown: this process. */
  readonly owner: string;
  readonly now: number;
  readonly startedAt: number;
  readonly source: {
    readonly name: string;
    /** Last processed position: stream sequence (NATS) or byte offset of the line end (file). */
    readonly position: number;
    readonly messagesRead: number;
    readonly lag: InputLag | null;
  } | null;
  readonly stages: readonly {
    readonly name: string;
    readonly partitions: readonly {
      readonly partition: number;
      readonly messagesIn: number;
      readonly messagesOut: number;
      readonly retries: number;
      readonly deadLetters: number;
      readonly mailboxDepth: number;
      readonly keys: number;
      /** Null before the first watermark and after the end of input. */
      readonly watermark: number | null;
      readonly watermarkLagMs: number | null;
    }[];
  }[];
  readonly checkpoint: {
    readonly count: number;
    readonly failures: number;
    readonly last: {
      readonly id: number;
      readonly capturedAt: number;
      readonly ageMs: number;
      readonly bytes: number;
      readonly durationMs: number;
      readonly kind: string;
    } | null;
  };
  readonly restore: {
    readonly checkpointId: number | null;
    readonly durationMs: number;
    readonly bytes: number;
  } | null;
  /** Messages read per second, one point per sample interval, oldest first. */
  readonly throughput: readonly { readonly at: number; readonly messagesPerSecond: number }[];
  readonly deadLetters: {
    readonly total: number;
    readonly recent: readonly {
      readonly at: number;
      readonly stage: string;
      readonly partition: number | null;
      readonly position: number;
      readonly attempts: number;
      readonly error: string;
    }[];
  };
  /** Recent warnings and errors of the log. */
  readonly problems: readonly { readonly at: number; readonly level: 'warn' | 'error'; readonly message: string }[];
  readonly nats: { readonly state: string; readonly reconnects: number } | null;
}

export interface JobStatusOptions {
  readonly jobName: string;
  /** One throughput point per this interval. @default 2000 */
  readonly sampleIntervalMs?: number;
  /** Throughput points kept. @default 300 (10 minutes at 2 s) */
  readonly samplesKept?: number;
  /** Dead letters and log problems kept. @default 20 */
  readonly recentKept?: number;
}

/**
 * The status of a running job for `/status.json`: read from the runtime's view on request, plus
 * what it keeps as the run goes: throughput samples, recent dead letters, warnings and errors.
 */
export class JobStatusModel {
  private readonly startedAt = Date.now();
  private readonly throughput: { at: number; messagesPerSecond: number }[] = [];
  private readonly deadLetters: JobStatus['deadLetters']['recent'][number][] = [];
  private readonly problems: JobStatus['problems'][number][] = [];
  private checkpoints = 0;
  private failures = 0;
  private lastCheckpoint: { id: number; capturedAt: number; bytes: number; durationMs: number; kind: string } | null =
    null;
  private restore: JobStatus['restore'] = null;
  private reconnects = 0;
  private runtime: ObservedRuntime | undefined;
  private readonly subscriptions: Subscription[] = [];
  private sampler: NodeJS.Timeout | undefined;
  private readonly owner = `${hostname()} pid ${process.pid}`;
  private readonly recentKept: number;

  constructor(private readonly options: JobStatusOptions) {
    this.recentKept = options.recentKept ?? 20;
  }

  /** Tees `logger`: warnings and errors are kept for the status page too. */
  recordingLogger(logger: Logger): Logger {
    const keep = (level: 'warn' | 'error', message: string): void =>
      this.keep(this.problems, { at: Date.now(), level, message: redactCredentials(message) });
    return {
      get level() {
        return logger.level;
      },
      get interactive() {
        return logger.interactive;
      },
      debug: (message, fields) => logger.debug(message, fields),
      info: (message, fields) => logger.info(message, fields),
      warn(message, fields) {
        keep('warn', message);
        logger.warn(message, fields);
      },
      error(message, fields) {
        keep('error', message);
        logger.error(message, fields);
      },
      progress: (text) => logger.progress(text),
    };
  }

  /** Follows `runtime` until close(). */
  observe(runtime: ObservedRuntime): void {
    this.runtime = runtime;
    this.subscriptions.push(
      runtime.events.subscribe((event) => {
        switch (event.type) {
          case 'restored':
            this.restore = {
              checkpointId: event.checkpointId ?? null,
              durationMs: event.durationMs,
              bytes: event.bytesRead,
            };
            if (event.checkpointId !== undefined && event.createdAt !== undefined) {
              this.lastCheckpoint = {
                id: event.checkpointId,
                capturedAt: event.createdAt,
                bytes: event.bytesRead,
                durationMs: 0,
                kind: 'restored',
              };
            }
            break;
          case 'checkpoint':
            this.checkpoints++;
            this.lastCheckpoint = {
              id: event.checkpointId,
              capturedAt: Date.now() - event.durationMs,
              bytes: event.bytesWritten,
              durationMs: event.durationMs,
              kind: event.kind,
            };
            break;
          case 'checkpoint-failed':
            this.failures++;
            break;
          case 'dead-letter':
            this.keep(this.deadLetters, {
              at: event.at,
              stage: event.stage,
              partition: event.partition ?? null,
              position: event.position,
              attempts: event.attempts,
              error: event.error instanceof Error ? event.error.message : String(event.error),
            });
            break;
          default:
            break;
        }
      }),
    );
    const kept = this.options.samplesKept ?? 300;
    let lastCount = 0;
    let lastAt = Date.now();
    clearInterval(this.sampler);
    this.sampler = setInterval(() => {
      const view = runtime.view;
      if (view === undefined) return;
      const count = view.source.messagesRead;
      const now = Date.now();
      this.throughput.push({ at: now, messagesPerSecond: ((count - lastCount) * 1000) / Math.max(1, now - lastAt) });
      if (this.throughput.length > kept) this.throughput.shift();
      lastCount = count;
      lastAt = now;
    }, this.options.sampleIntervalMs ?? 2000);
    this.sampler.unref();
  }

  /** NATS mode: counts reconnects. */
  connected(connection: ConnectionView): void {
    this.subscriptions.push(
      connection.events$.subscribe((event) => {
        if (event.type === 'reconnected') this.reconnects++;
      }),
    );
  }

  /** Stops following the runtime and sampling. Idempotent. */
  close(): void {
    clearInterval(this.sampler);
    this.sampler = undefined;
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
  }

  async status(): Promise<JobStatus> {
    const runtime = this.runtime;
    const view = runtime?.view;
    const now = Date.now();
    const state = runtime?.state ?? 'created';
    const connection = runtime?.connection;
    const last = this.lastCheckpoint;
    return {
      job: this.options.jobName,
      state,
      readiness: readinessOf(state, connection),
      owner: this.owner,
      now,
      startedAt: this.startedAt,
      source:
        view === undefined
          ? null
          : {
              name: view.source.name,
              position: view.source.lastPosition,
              messagesRead: view.source.messagesRead,
              lag: (await view.source.inputLag?.()) ?? null,
            },
      stages: (view?.stages ?? []).map((stage) => ({
        name: stage.name,
        partitions: stage.partitions.map((p) => {
          const watermark = watermarkTime(p.watermark) ?? null;
          return {
            partition: p.partition,
            messagesIn: p.messagesIn,
            messagesOut: p.messagesOut,
            retries: p.retries,
            deadLetters: p.deadLetters,
            mailboxDepth: p.mailboxDepth,
            keys: p.keyCount,
            watermark,
            watermarkLagMs: watermark === null ? null : Math.max(0, now - watermark),
          };
        }),
      })),
      checkpoint: {
        count: this.checkpoints,
        failures: this.failures,
        last: last === null ? null : { ...last, ageMs: Math.max(0, now - last.capturedAt) },
      },
      restore: this.restore,
      throughput: this.throughput,
      deadLetters: { total: view?.deadLetters ?? 0, recent: this.deadLetters },
      problems: this.problems,
      nats: connection === undefined ? null : { state: connection.state, reconnects: this.reconnects },
    };
  }

  private keep<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > this.recentKept) list.shift();
  }
}
