// Enrich: adds the city to each order from a lookup table kept in the job's file area (ctx.files,
// docs/files.md). Input: JSON lines {"id", "zip", "amount"}; output {"id", "zip", "city", "amount",
// "orders"} where orders counts the orders per zip code so far (a ValueState, keyed by zip).
//
// The table is built once per job: the first open() that finds no lookup/zip-codes.json in the area
// "downloads" it (reads the bundled examples/data/zip-codes.csv), converts it and puts it with
// expectedDigest: null, so when several workers start together exactly one stores it. Every later
// open() (a restart, a second worker, another partition) reuses it: it loads the table through
// ctx.files.path(), which in NATS mode keeps a verified local copy under --state-dir. stderr says
// which happened ("built the lookup table" / "reusing the lookup table").
//
//   npx stator run examples/enrich.ts --input examples/data/orders.jsonl --output out/enrich.jsonl
import { readFile } from 'node:fs/promises';
import { FileDigestMismatchError, StatefulTask, StateTags, StringUtf8Coder, VarLongNumberCoder } from '../src/index.ts';
import type { Message, ProcessContext, TaskContext } from '../src/index.ts';
import { defineJob, json, jsonLines } from '../runtime/index.ts';

export interface Order {
  readonly id: string;
  readonly zip: string;
  readonly amount: number;
}

export interface EnrichedOrder extends Order {
  /** The zip code's city, or null when the table does not know it. */
  readonly city: string | null;
  /** Orders seen for this zip code so far, this one included. */
  readonly orders: number;
}

/** The table's name in the file area. */
export const TABLE = 'lookup/zip-codes.json';
/** Where the table comes from: a stand-in for a download. */
const SOURCE = new URL('./data/zip-codes.csv', import.meta.url);

/** Builds the table from the CSV source: {"<zip>": "<city>"}. */
async function buildTable(): Promise<string> {
  const rows = (await readFile(SOURCE, 'utf8')).trim().split('\n').slice(1);
  return JSON.stringify(Object.fromEntries(rows.map((row) => row.split(',', 2))));
}

export class Enrich extends StatefulTask<Order, EnrichedOrder, string> {
  private static readonly ORDERS = StateTags.value('orders', VarLongNumberCoder.of());
  private readonly orders = this.state(Enrich.ORDERS);
  private cities = new Map<string, string>();

  override async open(ctx: TaskContext): Promise<void> {
    const existing = await ctx.files.stat(TABLE);
    if (existing === undefined) {
      try {
        const built = await ctx.files.put(TABLE, await buildTable(), { expectedDigest: null });
        log(`built the lookup table ${TABLE} (${built.size} bytes, ${built.digest}) in ${ctx.files.description}`);
      } catch (error) {
        // Another partition or worker stored it first: use theirs.
        if (!(error instanceof FileDigestMismatchError)) throw error;
        log(`reusing the lookup table ${TABLE}: another partition or worker built it first`);
      }
    } else {
      log(
        `reusing the lookup table ${TABLE} (${existing.size} bytes, ${existing.digest}) from ${ctx.files.description}`,
      );
    }
    const table = JSON.parse(await readFile(await ctx.files.path(TABLE), 'utf8')) as Record<string, string>;
    this.cities = new Map(Object.entries(table));
  }

  override invoke(message: Message<Order, string>, ctx: ProcessContext<EnrichedOrder, string>): void {
    const orders = (this.orders.read() ?? 0) + 1;
    this.orders.write(orders);
    const order = message.value;
    ctx.output({ ...order, city: this.cities.get(order.zip) ?? null, orders });
  }
}

function log(line: string): void {
  process.stderr.write(`enrich: ${line}\n`);
}

export const job = defineJob({ name: 'enrich' })
  .source(jsonLines<Order>())
  .keyBy((order) => order.zip, StringUtf8Coder.of())
  .process(() => new Enrich(), { name: 'enrich', parallelism: 2 })
  .sink(json<EnrichedOrder>());

export default job;
