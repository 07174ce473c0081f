// Feeds a job's input subject from a file or stdin, one message per line, published to JetStream
// with acknowledgements in a window (so it is fast and nothing is lost). Creates the subject's stream
// when none captures it yet, with the same naming as `stator run` (wordcount.in → WORDCOUNT_IN).
//
//   node --import tsx examples/produce.ts --nats nats://127.0.0.1:4222 --subject wordcount.in <
// examples/data/sample.txt
//   node --import tsx examples/produce.ts --subject wordcount.in --file examples/data/sample.txt --id-prefix sample
//
// With --id-prefix, message i gets the id `<prefix>:<i>`: running the same command again within the
// stream's duplicate window stores nothing twice. With --partitions N, each line goes to
// `<subject>.<partitionOf(key, N)>`, for a job run with `--scale-out --input-partitions N`.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  connectNats,
  createStreamSink,
  ensureSubjectStream,
  NATS_CLI_OPTIONS,
  NATS_CLI_USAGE,
  natsFlagsFrom,
  natsUrlFrom,
  subjectStreamName,
} from '../runtime/nats/index.ts';
import { partitionOf } from '../runtime/client.ts';

const usage = `usage: produce --subject <subject> [--file <path>] [--nats <url>] [--window 256] [--id-prefix <p>] [--skip-empty]

Publishes each line of --file (default: stdin) as one message on --subject.
  --window <n>        publishes awaiting acknowledgement at most (default 256)
  --id-prefix <p>     Nats-Msg-Id "<p>:<line number>", so a re-run is deduplicated
  --skip-empty        do not publish empty lines
  --partitions <n>    publish each line to <subject>.<partitionOf(key, n)> (a pre-partitioned input)
  --key-field <f>     with --partitions: the key is this field of the line's JSON object [default: the line]
${NATS_CLI_USAGE}`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ...NATS_CLI_OPTIONS,
      subject: { type: 'string' },
      file: { type: 'string' },
      window: { type: 'string', default: '256' },
      'id-prefix': { type: 'string' },
      'skip-empty': { type: 'boolean', default: false },
      partitions: { type: 'string' },
      'key-field': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const subject = values.subject;
  const window = Number(values.window);
  const partitions = values.partitions === undefined ? undefined : Number(values.partitions);
  const badPartitions = partitions !== undefined && !(Number.isSafeInteger(partitions) && partitions >= 1);
  const keyField = values['key-field'];
  if (
    subject === undefined ||
    !Number.isInteger(window) ||
    window < 1 ||
    badPartitions ||
    (keyField !== undefined && partitions === undefined)
  ) {
    console.error(usage);
    return 2;
  }
  const flags = natsFlagsFrom(values);
  const link = await connectNats({
    ...flags,
    nats: natsUrlFrom(flags) ?? 'nats://127.0.0.1:4222',
    name: flags.name ?? 'stator-produce',
  });
  try {
    const { info, created } = await ensureSubjectStream(
      await link.jetstreamManager(),
      subject,
      {
        defaultName: subjectStreamName(subject),
        ...(partitions === undefined ? {} : { alsoSubjects: [`${subject}.>`] }),
      },
      link.features,
    );
    console.error(`${created ? 'created' : 'using'} stream ${info.config.name} for ${subject}`);
    const sink = createStreamSink(link, { window, highWaterMark: window * 2 });
    const input = values.file === undefined ? process.stdin : createReadStream(values.file);
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    const encoder = new TextEncoder();
    const prefix = values['id-prefix'];
    const started = Date.now();
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (values['skip-empty'] && line === '') continue;
      if (sink.congested) await sink.whenUncongested();
      sink.publish({
        subject: partitions === undefined ? subject : `${subject}.${partitionOf(keyOf(line, keyField), partitions)}`,
        data: encoder.encode(line),
        msgId: prefix === undefined ? '' : `${prefix}:${lineNumber}`,
      });
    }
    await sink.flush();
    const { published, duplicates } = sink.stats;
    const seconds = (Date.now() - started) / 1000;
    console.error(
      `published ${published} messages to ${subject} (${duplicates} duplicates dropped) in ${seconds.toFixed(1)} s` +
        (seconds > 0 ? `, ${Math.round(published / seconds)} msg/s` : ''),
    );
    await sink.close();
    return 0;
  } finally {
    await link.close();
  }
}

/** The key a line is partitioned by: the line, or a field of it as JSON (a string, or its JSON text). */
function keyOf(line: string, field: string | undefined): string {
  if (field === undefined) return line;
  let value: unknown;
  try {
    value = (JSON.parse(line) as Record<string, unknown> | null)?.[field];
  } catch {
    // reported below
  }
  if (value === undefined)
    throw new Error(`--key-field ${field}: not a JSON object with that field: ${line.slice(0, 80)}`);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`produce: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = (error as { code?: string }).code === 'NATS_CONNECT' ? 69 : 1;
  },
);
