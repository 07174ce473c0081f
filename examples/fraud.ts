// Fraud: flags suspicious card transactions. Input: JSON lines {"card", "ts", "amount", "merchant"}.
// Per card (the key):
//   - an OrderedListState of recent transactions (by event time) finds bursts: 3 or more
//     transactions within 60 s totalling more than 1000;
//   - a CombiningState keeps the count and sum of all amounts, for the card's average;
//   - a MapState counts transactions per merchant: a first purchase at a merchant of more than 5x
//     the card's average (after at least 3 transactions) is flagged.
// Alerts are {"card", "ts", "rule", "detail"}. Old entries leave the ordered list as the
// watermark passes them (an event-time timer), so state stays small.
//
//   npx stator run examples/fraud.ts --input examples/data/transactions.jsonl --output out/fraud.jsonl
import {
  DoubleCoder,
  KV,
  KvCoder,
  JsonCoder,
  StatefulTask,
  StateTags,
  StringUtf8Coder,
  TimeDomain,
  TimestampedValue,
  VarLongNumberCoder,
} from '../src/index.ts';
import type { CombineFn, FiredTimer, Message, ProcessContext, TimerContext } from '../src/index.ts';
import { defineJob, json, jsonLines } from '../runtime/index.ts';

export interface Transaction {
  readonly card: string;
  readonly ts: number;
  readonly amount: number;
  readonly merchant: string;
}

export interface Alert {
  readonly card: string;
  readonly ts: number;
  readonly rule: 'burst' | 'unusual-merchant';
  readonly detail: string;
}

export const BURST_WINDOW_MS = 60_000;
export const BURST_MIN_COUNT = 3;
export const BURST_MIN_TOTAL = 1000;
export const UNUSUAL_FACTOR = 5;

/** Count and sum of amounts, combined into the mean (Beam's Mean.of() in spirit). */
type MeanAccumulator = KV<number, number>;
const meanFn: CombineFn<number, MeanAccumulator, number> = {
  createAccumulator: () => KV(0, 0),
  addInput: (acc, amount) => KV(acc.key + 1, acc.value + amount),
  mergeAccumulators: (accs) => {
    let count = 0;
    let sum = 0;
    for (const acc of accs) {
      count += acc.key;
      sum += acc.value;
    }
    return KV(count, sum);
  },
  extractOutput: (acc) => (acc.key === 0 ? 0 : acc.value / acc.key),
};

export class FraudDetector extends StatefulTask<Transaction, Alert, string> {
  private static readonly RECENT = StateTags.orderedList('recent', JsonCoder.of<Transaction>());
  private static readonly MEAN = StateTags.combiningValue(
    'mean',
    KvCoder.of(VarLongNumberCoder.of(), DoubleCoder.of()),
    meanFn,
  );
  private static readonly MERCHANTS = StateTags.map('merchants', StringUtf8Coder.of(), VarLongNumberCoder.of());
  // Handles declared once: each acts on the key of the message or timer being handled.
  private readonly recent = this.state(FraudDetector.RECENT);
  private readonly mean = this.state(FraudDetector.MEAN);
  private readonly merchants = this.state(FraudDetector.MERCHANTS);
  private readonly expire = this.timer('expire', TimeDomain.EVENT_TIME);

  override invoke(message: Message<Transaction, string>, ctx: ProcessContext<Alert, string>): void {
    const tx = message.value;
    // Unusual merchant: judged against the average before this transaction.
    const seenAt = this.merchants.get(tx.merchant).read();
    const history = this.mean.getAccum().key;
    const average = this.mean.read();
    if (seenAt === null && history >= BURST_MIN_COUNT && tx.amount > UNUSUAL_FACTOR * average) {
      ctx.output({
        card: tx.card,
        ts: tx.ts,
        rule: 'unusual-merchant',
        detail: `${tx.amount} at new merchant ${tx.merchant}, average ${average.toFixed(2)}`,
      });
    }
    this.merchants.put(tx.merchant, (seenAt ?? 0) + 1);
    this.mean.add(tx.amount);

    // Burst: transactions in the last BURST_WINDOW_MS of event time, this one included. Entries
    // older than the window (by this card's own time) are no longer needed.
    this.recent.clearRange(Number.MIN_SAFE_INTEGER, tx.ts - BURST_WINDOW_MS + 1);
    this.recent.add(TimestampedValue.of(tx, tx.ts));
    let count = 0;
    let total = 0;
    for (const entry of this.recent.readRange(tx.ts - BURST_WINDOW_MS + 1, tx.ts + 1)) {
      count++;
      total += entry.value.amount;
    }
    if (count >= BURST_MIN_COUNT && total > BURST_MIN_TOTAL) {
      ctx.output({
        card: tx.card,
        ts: tx.ts,
        rule: 'burst',
        detail: `${count} transactions totalling ${total} within ${BURST_WINDOW_MS / 1000} s`,
      });
    }
    // A quiet card forgets its entries once the watermark is a window past the last one.
    this.expire.set(tx.ts + BURST_WINDOW_MS);
  }

  override onTimer(timer: FiredTimer<string>, _ctx: TimerContext<Alert, string>): void {
    this.recent.clearRange(Number.MIN_SAFE_INTEGER, Number(timer.timestamp) - BURST_WINDOW_MS + 1);
  }
}

export const job = defineJob({ name: 'fraud' })
  .source(jsonLines<Transaction>({ timestamp: (tx) => tx.ts, maxOutOfOrdernessMs: 5_000 }))
  .keyBy((tx) => tx.card, StringUtf8Coder.of())
  .process(() => new FraudDetector(), { name: 'detect', parallelism: 2 })
  .sink(json<Alert>());

export default job;
