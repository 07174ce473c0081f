// Prints the messages of a subject's stream, one payload per line: a job's output
// (wordcount.out), or its dead letters with their headers. Reads with an ordered consumer from the
// first message (or --from), and stops once it has printed what the stream held when it started: up
// to the stream's last sequence at that moment (--follow keeps printing as messages arrive, until
// Ctrl-C).
//
//   node --import tsx examples/consume.ts --nats nats://127.0.0.1:4222 --subject wordcount.out
//   node --import tsx examples/consume.ts --subject 'stator.wordcount.dlq.*' --headers
import { parseArgs } from 'node:util';
import {
  connectNats,
  NATS_CLI_OPTIONS,
  NATS_CLI_USAGE,
  natsFlagsFrom,
  natsUrlFrom,
  openStreamSource,
} from '../runtime/nats/index.ts';

const usage = `usage: consume --subject <subject> [--nats <url>] [--from <seq>] [--follow] [--headers]

Prints each message on --subject (one payload per line, to stdout) from the stream that captures it.
  --from <seq>     start at this stream sequence (default 1)
  --follow         keep printing new messages until interrupted
  --headers        print each message's headers (e.g. a dead letter's Stator-Error) before it
${NATS_CLI_USAGE}`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ...NATS_CLI_OPTIONS,
      subject: { type: 'string' },
      from: { type: 'string', default: '1' },
      follow: { type: 'boolean', default: false },
      headers: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const subject = values.subject;
  const from = Number(values.from);
  if (subject === undefined || !Number.isSafeInteger(from) || from < 1) {
    console.error(usage);
    return 2;
  }
  const flags = natsFlagsFrom(values);
  const link = await connectNats({
    ...flags,
    nats: natsUrlFrom(flags) ?? 'nats://127.0.0.1:4222',
    name: flags.name ?? 'stator-consume',
  });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    const jsm = await link.jetstreamManager();
    const stream = await jsm.streams.find(subject).catch(() => undefined);
    if (stream === undefined) {
      console.error(`no stream captures ${subject} (has the job run yet?)`);
      return 1;
    }
    // Without --follow: what the stream holds now, up to its last sequence as of this moment.
    const lastSeq = values.follow ? Number.POSITIVE_INFINITY : (await jsm.streams.info(stream)).state.last_seq;
    await using source = await openStreamSource(link, { stream, filterSubject: subject, startSeq: from });
    const decoder = new TextDecoder();
    const stop = new Promise<undefined>((resolve) =>
      controller.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
    );
    let printed = 0;
    // lag 0: nothing more on the subject (the stream's last message may be on another subject).
    let done = lastSeq < from;
    while (!done) {
      const batch = await Promise.race([source.nextBatch(), stop]);
      if (batch === undefined) break;
      let out = '';
      for (const record of batch) {
        if (record.seq > lastSeq) {
          done = true;
          break;
        }
        if (values.headers && record.headers !== undefined) {
          for (const [key, list] of record.headers) for (const value of list) out += `# ${key}: ${value}\n`;
        }
        out += `${decoder.decode(record.data)}\n`;
        printed++;
      }
      // Written before the next read: a slow reader of stdout slows the consumer, not memory.
      if (!process.stdout.write(out)) await new Promise((resolve) => process.stdout.once('drain', resolve));
      if (source.lastSeq >= lastSeq || (!values.follow && source.lag === 0)) done = true;
    }
    console.error(`${printed} messages from ${stream} (${subject})`);
    return 0;
  } finally {
    await link.close();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`consume: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = (error as { code?: string }).code === 'NATS_CONNECT' ? 69 : 1;
  },
);
