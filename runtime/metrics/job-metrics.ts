import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { promClient } from '../deferred-packages.ts';
import type { Subscription } from 'rxjs';
import type { TurnTimer } from '../engine/turn-timer.ts';
import type { JobRuntime } from '../job-runtime.ts';
import { watermarkTime } from '../job-view.ts';
import type { ConnectionView, JobView } from '../job-view.ts';
import type { LifecycleState } from '../lifecycle.ts';

/**
 * Times one data turn in this many: two clock reads and a prom-client observation cost several
 * hundred ns, more than many turns; one in 64 keeps that to a few ns a turn and still gives
 * thousands of samples a second on a busy partition.
 */
const TURN_SAMPLE_EVERY = 64;

const LIFECYCLE_STATES: readonly LifecycleState[] = [
  'created',
  'restoring',
  'running',
  'draining',
  'stopped',
  'failed',
];

/**
 * A job's metrics in a prom-client registry, named by Prometheus' conventions (`stator_` prefix, base
 * units, `_total` counters) and labelled `job_name` (Prometheus sets `job` itself at scrape time),
 * `stage`, `partition`, `source` — never a key, so series stay few. docs/operations.md describes each.
 *
 * The data path only bumps plain fields (PartitionActor's counters) and times one turn in
 * TURN_SAMPLE_EVERY; everything else is read from the job's view when the registry is scraped.
 */
export interface JobMetrics {
  /** Handed to the pipeline: times a sample of turns into `stator_turn_duration_seconds`. */
  readonly turnTimer: TurnTimer;
  /** NATS mode: the connection, for `stator_nats_connected` and `stator_nats_reconnects_total`. */
  connected(connection: ConnectionView): void;
  /** Stops following the runtime and removes the metrics from the registry. Idempotent. */
  close(): void;
}

/**
 * Registers the metrics of `runtime` (running job `jobName`) in `registry` and follows its view,
 * events and lifecycle until close().
 * @throws Error when a job's metrics are registered there already.
 */
export function createJobMetrics(registry: Registry, jobName: string, runtime: JobRuntime): JobMetrics {
  return new PrometheusJobMetrics(registry, jobName, runtime);
}

class PrometheusJobMetrics implements JobMetrics {
  readonly turnTimer: TurnTimer;
  private connection: ConnectionView | undefined;
  private reconnects = 0;
  /** When the last committed checkpoint was captured (epoch millis). */
  private lastCheckpointAt: number | undefined;
  private readonly deadLetters = new Map<string, number>();
  /** Scaled-out workers: each unit's failures in a row, and whether it is marked failed. */
  private readonly unitFailures = new Map<string, { failures: number; failed: boolean }>();
  private readonly checkpoints: Counter;
  private readonly checkpointFailures: Counter;
  private readonly checkpointBytes: Counter;
  private readonly checkpointDuration: Histogram;
  private readonly checkpointPause: Histogram;
  private readonly restoreDuration: Gauge;
  private readonly restoreBytes: Gauge;

  private readonly subscriptions: Subscription[] = [];
  private readonly names: string[];

  constructor(
    private readonly registry: Registry,
    jobName: string,
    private readonly runtime: JobRuntime,
  ) {
    const { Counter, Gauge, Histogram } = promClient();
    const job = { job_name: jobName };
    const registers = [registry];
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    // Collected at scrape time from the view (reads of plain fields).
    const view = (): JobView | undefined => runtime.view;
    const perPartition = (
      name: string,
      help: string,
      read: (p: JobView['stages'][number]['partitions'][number]) => number,
      type: 'counter' | 'gauge',
    ): void => {
      const collect = function (this: Counter | Gauge): void {
        this.reset();
        for (const stage of view()?.stages ?? []) {
          for (const p of stage.partitions) {
            const labels = { ...job, stage: stage.name, partition: String(p.partition) };
            if (this instanceof Gauge) this.set(labels, read(p));
            else this.inc(labels, read(p));
          }
        }
      };
      const config = { name, help, labelNames: ['job_name', 'stage', 'partition'], registers, collect };
      if (type === 'counter') new Counter(config);
      else new Gauge(config);
    };
    perPartition(
      'stator_messages_in_total',
      'Messages a stage partition took from its mailbox (once each, however often retried).',
      (p) => p.messagesIn,
      'counter',
    );
    perPartition(
      'stator_messages_out_total',
      'Messages a stage partition emitted (outputs of committed turns, timer outputs included).',
      (p) => p.messagesOut,
      'counter',
    );
    perPartition(
      'stator_retries_total',
      'Attempts of a message after its first failed one.',
      (p) => p.retries,
      'counter',
    );
    perPartition(
      'stator_mailbox_depth',
      'Entries waiting in a partition mailbox (bounded by the mailbox capacity).',
      (p) => p.mailboxDepth,
      'gauge',
    );
    perPartition(
      'stator_state_keys',
      'Keys holding state in a partition (an estimate between checkpoints).',
      (p) => p.keyCount,
      'gauge',
    );
    const perWatermark = (name: string, help: string, read: (watermarkMs: number) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['job_name', 'stage', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const stage of view()?.stages ?? []) {
            for (const p of stage.partitions) {
              const watermark = watermarkTime(p.watermark);
              if (watermark !== undefined)
                this.set({ ...job, stage: stage.name, partition: String(p.partition) }, read(watermark));
            }
          }
        },
      });
    };
    perWatermark(
      'stator_watermark_timestamp_seconds',
      'Event-time watermark of a partition, as a Unix time (absent before the first watermark and after the end of input).',
      (ms) => ms / 1000,
    );
    perWatermark('stator_watermark_lag_seconds', 'How far a partition watermark is behind the wall clock.', (ms) =>
      Math.max(0, (Date.now() - ms) / 1000),
    );
    new Counter({
      name: 'stator_input_messages_total',
      help: 'Messages read from the input by this process.',
      labelNames: ['job_name', 'source'],
      registers,
      collect() {
        this.reset();
        const source = view()?.source;
        if (source !== undefined) this.inc({ ...job, source: source.name }, source.messagesRead);
      },
    });
    new Gauge({
      name: 'stator_input_position',
      help: 'Position of the last processed input message: a stream sequence (NATS) or the byte offset of its line end (file).',
      labelNames: ['job_name', 'source'],
      registers,
      collect() {
        this.reset();
        const source = view()?.source;
        if (source !== undefined) this.set({ ...job, source: source.name }, source.lastPosition);
      },
    });
    const lag = (unit: 'messages' | 'bytes', help: string): void => {
      new Gauge({
        name: `stator_input_lag_${unit}`,
        help,
        labelNames: ['job_name', 'source'],
        registers,
        async collect() {
          this.reset();
          const source = view()?.source;
          const value = (await source?.inputLag?.())?.[unit];
          if (source !== undefined && value !== undefined) this.set({ ...job, source: source.name }, value);
        },
      });
    };
    lag('messages', 'Messages on the input subject not processed yet (NATS mode).');
    lag('bytes', 'Bytes of the input file after the last processed line (embedded mode).');
    const deadLetters = this.deadLetters;
    new Counter({
      name: 'stator_dead_letters_total',
      help: 'Messages written to the dead-letter sink, by the step that gave up on them.',
      labelNames: ['job_name', 'stage'],
      registers,
      collect() {
        this.reset();
        for (const [stage, count] of deadLetters) this.inc({ ...job, stage }, count);
      },
    });
    this.checkpoints = new Counter({
      name: 'stator_checkpoints_total',
      help: 'Checkpoints committed by this process.',
      labelNames: ['job_name', 'kind'],
      registers,
    });
    for (const kind of ['full', 'incremental']) this.checkpoints.inc({ ...job, kind }, 0);
    this.checkpointFailures = new Counter({
      name: 'stator_checkpoint_failures_total',
      help: 'Checkpoint writes that failed (their changes go into the next checkpoint).',
      labelNames: ['job_name'],
      registers,
    });
    this.checkpointFailures.inc(job, 0);
    this.checkpointBytes = new Counter({
      name: 'stator_checkpoint_written_bytes_total',
      help: 'Bytes of checkpoint parts written.',
      labelNames: ['job_name'],
      registers,
    });
    this.checkpointBytes.inc(job, 0);
    const checkpointBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.checkpointDuration = new Histogram({
      name: 'stator_checkpoint_duration_seconds',
      help: 'From the trigger of a checkpoint to its commit.',
      labelNames: ['job_name'],
      buckets: checkpointBuckets,
      registers,
    });
    this.checkpointPause = new Histogram({
      name: 'stator_checkpoint_pause_seconds',
      help: 'How long intake was paused for a checkpoint cut (drain the mailboxes, capture state and positions).',
      labelNames: ['job_name'],
      buckets: checkpointBuckets,
      registers,
    });
    // Series exist from the start (an empty histogram would not be exposed at all).
    this.checkpointDuration.zero(job);
    this.checkpointPause.zero(job);
    const lastCheckpointAt = (): number | undefined => this.lastCheckpointAt;
    new Gauge({
      name: 'stator_checkpoint_last_success_timestamp_seconds',
      help: 'When the last committed checkpoint (written or restored) was captured, as a Unix time.',
      labelNames: ['job_name'],
      registers,
      collect() {
        this.reset();
        const at = lastCheckpointAt();
        if (at !== undefined) this.set(job, at / 1000);
      },
    });
    new Gauge({
      name: 'stator_checkpoint_age_seconds',
      help: 'Seconds since the last committed checkpoint was captured: what a crash now would replay.',
      labelNames: ['job_name'],
      registers,
      collect() {
        this.reset();
        const at = lastCheckpointAt();
        if (at !== undefined) this.set(job, Math.max(0, (Date.now() - at) / 1000));
      },
    });
    this.restoreDuration = new Gauge({
      name: 'stator_restore_duration_seconds',
      help: 'How long the last restore took (reading the checkpoint, restoring partitions, opening input and output).',
      labelNames: ['job_name'],
      registers,
    });
    this.restoreBytes = new Gauge({
      name: 'stator_restore_bytes',
      help: 'Bytes of checkpoint parts the last restore read.',
      labelNames: ['job_name'],
      registers,
    });
    const unitFailures = this.unitFailures;
    new Gauge({
      name: 'stator_unit_failures',
      help: "Scaled out: a unit's failures in a row (start or run failed), as the job's group records them.",
      labelNames: ['job_name', 'unit'],
      registers,
      collect() {
        this.reset();
        for (const [unit, { failures }] of unitFailures) this.set({ ...job, unit }, failures);
      },
    });
    new Gauge({
      name: 'stator_unit_failed',
      help: 'Scaled out: 1 for a unit marked failed (no worker starts it until its record is cleared).',
      labelNames: ['job_name', 'unit'],
      registers,
      collect() {
        this.reset();
        for (const [unit, { failed }] of unitFailures) this.set({ ...job, unit }, failed ? 1 : 0);
      },
    });
    const state = (): LifecycleState => runtime.state;
    new Gauge({
      name: 'stator_lifecycle_state',
      help: 'The job runtime lifecycle state: 1 for the current one.',
      labelNames: ['job_name', 'state'],
      registers,
      collect() {
        const current = state();
        for (const s of LIFECYCLE_STATES) this.set({ ...job, state: s }, s === current ? 1 : 0);
      },
    });
    const connection = (): ConnectionView | undefined => this.connection;
    new Gauge({
      name: 'stator_nats_connected',
      help: 'NATS mode: 1 while connected to a server, 0 while disconnected or closed.',
      labelNames: ['job_name'],
      registers,
      collect() {
        this.reset();
        const current = connection();
        if (current !== undefined) this.set(job, current.state === 'connected' ? 1 : 0);
      },
    });
    const reconnects = (): number => this.reconnects;
    new Counter({
      name: 'stator_nats_reconnects_total',
      help: 'NATS mode: reconnections after a lost connection.',
      labelNames: ['job_name'],
      registers,
      collect() {
        this.reset();
        if (connection() !== undefined) this.inc(job, reconnects());
      },
    });
    const byStage = new Map<string, (seconds: number) => void>();
    const turns = new Histogram({
      name: 'stator_turn_duration_seconds',
      help: `Duration of a sample of turns (one data message in ${TURN_SAMPLE_EVERY} per partition): user code and state access.`,
      labelNames: ['job_name', 'stage'],
      buckets: [
        0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.025, 0.1, 0.5, 2.5,
      ],
      registers,
      collect() {
        // Every stage has a series from the start, sampled turns or not.
        for (const stage of view()?.stages ?? []) if (!byStage.has(stage.name)) record(stage.name);
      },
    });
    const record = (stage: string): ((seconds: number) => void) => {
      const child = turns.labels({ ...job, stage });
      const observe = (value: number): void => child.observe(value);
      turns.zero({ ...job, stage });
      byStage.set(stage, observe);
      return observe;
    };
    this.turnTimer = {
      sampleEvery: TURN_SAMPLE_EVERY,
      record(stage, seconds) {
        (byStage.get(stage) ?? record(stage))(seconds);
      },
    };
    this.names = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => !before.has(name));
    this.subscriptions.push(
      runtime.events.subscribe((event) => {
        switch (event.type) {
          case 'restored':
            this.restoreDuration.set(job, event.durationMs / 1000);
            this.restoreBytes.set(job, event.bytesRead);
            if (event.createdAt !== undefined) this.lastCheckpointAt = event.createdAt;
            break;
          case 'checkpoint':
            this.checkpoints.inc({ ...job, kind: event.kind });
            this.checkpointBytes.inc(job, event.bytesWritten);
            this.checkpointDuration.observe(job, event.durationMs / 1000);
            this.checkpointPause.observe(job, event.pausedMs / 1000);
            this.lastCheckpointAt = Date.now() - event.durationMs;
            break;
          case 'checkpoint-failed':
            this.checkpointFailures.inc(job);
            break;
          case 'dead-letter':
            this.deadLetters.set(event.stage, (this.deadLetters.get(event.stage) ?? 0) + 1);
            break;
          case 'unit-failures':
            this.unitFailures.set(event.unit, { failures: event.failures, failed: event.failed });
            break;
          default:
            break;
        }
      }),
    );
  }

  connected(connection: ConnectionView): void {
    this.connection = connection;
    this.subscriptions.push(
      connection.events$.subscribe((event) => {
        if (event.type === 'reconnected') this.reconnects++;
      }),
    );
  }

  close(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    for (const name of this.names.splice(0)) this.registry.removeSingleMetric(name);
  }
}
