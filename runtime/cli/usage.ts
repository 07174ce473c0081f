/** Help texts of the `stator` command. */
import { NATS_CLI_USAGE } from '../nats/connection-options.ts';

export const mainUsage = `usage: stator <command> [options]

Commands:
  run <job-module>           run a job (embedded mode by default; NATS mode with --nats or NATS_URL)
  checkpoints list           list a job's checkpoints
  checkpoints inspect [id]   show one checkpoint (default: the latest)
  checkpoints clear          delete a job's checkpoints (refused while the job runs)
  state get|put|delete       a key's state (docs/state-api.md)
  files list|get|put|delete  the job's file area, ctx.files (docs/files.md)
  status                     a job's workers and who owns each partition (NATS mode)

Run 'stator <command> --help' for the options of a command; 'stator --version' prints the version.`;

export const runUsage = `usage: stator run <job-module> [options]

Runs the job exported by <job-module> (a .ts or .js file with \`export default defineJob(...)\` or
\`export const job = ...\`). Restores the latest checkpoint first, so a second run resumes where the
first stopped. SIGTERM/SIGINT: stop reading, finish in-flight messages, write a final checkpoint, exit 0
(a second signal exits at once with 130).

Options:
  --input <file>                 embedded mode: input file, one message per line (required)
  --output <file>                embedded mode: output file, one message per line (required)
  --dead-letter <file>           dead letters (JSON lines) [default: <output>.dead.jsonl]
  --state-dir <dir>              checkpoints directory; in NATS mode, where ctx.files.path() keeps
                                 its local cache (<state-dir>/<job>/files-cache) [default: ./state]
  --files-max-bytes <size>       size limit of the job's file area (ctx.files), e.g. 500MiB
                                 [default: 10GiB]
  --follow                       keep reading as the input grows (until SIGTERM/SIGINT)
  --max-line-bytes <size>        embedded mode: a longer input line is dead-lettered by position
                                 and skipped (INPUT_LINE_TOO_LONG) [default: 64MiB]
  --checkpoint-interval <ms>     time between checkpoints [default: 5000]
  --parallelism <[stage=]n>      partitions of a keyed stage (or of every one) instead of the job's
                                 own; between runs this rescales: state moves by key group
                                 (docs/checkpoints.md, "Rescaling") [default: as the job defines]
  --max-retries <n>              retries of a failing message before it is dead-lettered [default: 3]
  --state-backend <heap|disk>    where keyed state lives: heap (all in memory) or disk (a bounded
                                 heap cache over a local store in <state-dir>/<job>/local/)
                                 [default: heap, or disk with --state-memory]
  --state-memory <size>          the disk backend's heap budget for keyed state, e.g. 256MiB, 1GiB
                                 [default: 256MiB]
  --log-level <level>            debug, info, warn, error or silent [default: info]
  --log-format <format>          text (a line per event) or json (a JSON object per line:
                                 time, level, msg, job, stage, partition, fields) [default: text]
  --http <host:port>             serve the job there: / (status page), /status.json, /metrics
                                 (Prometheus), /healthz, /readyz, the state API (Dapr's
                                 /v1.0/state/<job>, docs/state-api.md); :port or a bare port listens
                                 on 127.0.0.1, 0.0.0.0:port on every interface [default: off]
  --http-token <token>           require it in the dapr-api-token header of state API requests
                                 [default: STATOR_HTTP_TOKEN, else none]
  --scale-out                    NATS mode: split the job into units (one per input partition and
                                 per partition of each keyed stage) that its workers share; without
                                 it the job is one unit, run by one worker while the others stand by
                                 (docs/scale-out.md)
  --replicas <n>                 NATS mode: replicas of the job's streams and buckets [default: 1]
  --lease-ttl <ms>               NATS mode: how long a silent worker keeps its units [default: 5000]
  --max-unit-failures <n>        NATS mode: failures in a row after which a unit is marked failed and
                                 not started again until its record is cleared [default: 8]
  --input-partitions <n>         with --scale-out: the input is pre-partitioned into <job>.<source>.0 ..
                                 <job>.<source>.<n-1>, one partition each (partitionOf in stator/client)
                                 [default: the source's partitions option, else one subject <job>.<source>]
  -h, --help                     this help

With --nats <url> (or NATS_URL) the job runs in NATS mode: input, output and checkpoints in JetStream.
Every process started so is a worker of the job's group: a second one joins it (and stands by, or
with --scale-out takes its share), and takes over from a worker that stops or dies.
${NATS_CLI_USAGE}

Exit codes: 0 done, 1 failed, 2 bad arguments or options (also a NATS stream that does not fit the
job, a parallelism its checkpoints cannot be rescaled to, or a worker whose layout differs from the
job's), 3 module not found, 4 module exports no job, 5 checkpoints unusable (corrupt, or embedded
mode's state used by another process), 69 NATS unreachable at start (or authentication refused),
75 NATS unreachable longer than --max-outage while running, 130 second signal.`;

export const checkpointsUsage = `usage: stator checkpoints <list|inspect [id]|clear> --job <name> [options]
       stator checkpoints <list|inspect [id]|clear> <job-module> [options]

Options:
  --job <name>          the job's name (or pass its module, which names it)
  --state-dir <dir>     checkpoints directory [default: ./state]
  --nats <url>          checkpoints in NATS (also when NATS_URL is set); the NATS options of
                        stator run (--user, --token, --creds, --tlsca...) apply too
  --json                machine-readable output (list, inspect)
  -h, --help            this help`;

export const statusUsage = `usage: stator status --job <name> --nats <url[,url]> [--json]
       stator status <job-module> --nats <url[,url]> [--json]

The workers of a job (every \`stator run\` of it against this NATS) and each partition's owner,
lease revision and progress (position, lag, watermark, last checkpoint) as the owner last published
it with its heartbeat (docs/scale-out.md). Reads the job's group bucket; changes nothing.

Options:
  --job <name>          the job's name (or pass its module, which names it)
  --json                one JSON object: {job, bucket, exists, workers[], units[]}
  -h, --help            this help
${NATS_CLI_USAGE}`;

export const stateUsage = `usage: stator state get <job-module> --key <key> [options]
       stator state put <job-module> --key <key> --value <json> [--etag <etag>] --url <server> | --nats <url>
       stator state delete <job-module> --key <key> [--etag <etag>] --url <server> | --nats <url>

A key's state (a JSON object of its cells by tag id; docs/state-api.md). With --url, calls the
running job's state API (stator run ... --http host:port): reads are strong there, writes are applied
by the job. With --nats (a job run in NATS mode), put, delete and --consistency strong go over NATS
to the process that runs the key's partition (a --scale-out job's: the worker running it).
Otherwise get reads the job's latest checkpoint (eventual; the job may be stopped; a --scale-out
job's: the latest checkpoint of the key's unit). get prints one JSON line: {"key", "value", "etag"}.

Options:
  --key <key>             the key (string keys as they are, other keys as JSON)
  --value <json>          put: cells by tag id, e.g. '{"count":0}'
  --etag <etag>           put/delete: first-write (exit 1 when the key changed since)
  --stage <stage>         the stateful stage, when the job has several
  --consistency <c>       strong or eventual (with --url or --nats; otherwise eventual) [default: strong
                          with --url, eventual with --nats]
  --url <url>             the running job's HTTP server [default: STATOR_URL]
  --http-token <token>    its token [default: STATOR_HTTP_TOKEN]
  --state-dir <dir>       checkpoints directory (embedded) [default: ./state]
  --nats <url>            the job runs in NATS mode there (also when NATS_URL is set)
  -h, --help              this help`;

export const filesUsage = `usage: stator files list [prefix] --job <name> [options]
       stator files get <name> --job <name> [--output <file>] [options]
       stator files put <name> --job <name> [--input <file>] [--expected-digest <digest|none>] [options]
       stator files delete <name> --job <name> [options]

The job's durable file area, as its tasks see it as ctx.files (docs/files.md): the folder
<state-dir>/<job>/files (embedded), or the job's JetStream Object Store bucket stator-<job>-files with
--nats (or NATS_URL). list prints size, time and name per file (sorted); get writes the contents to
stdout or --output; put reads stdin or --input and prints the new digest; delete exits 1 when there
was no such file. A job module may stand for --job.

Options:
  --job <name>                 the job's name (or pass its module, which names it)
  --state-dir <dir>            embedded: where the job's files are [default: ./state]
  --output <file>              get: write here instead of stdout
  --input <file>               put: read this instead of stdin
  --expected-digest <d|none>   put: replace only the version with this digest (as list --json or a
                               previous put printed it); none: only when the file does not exist.
                               Another version: exit 1, nothing written
  --files-max-bytes <size>     put: the area's size limit, e.g. 500MiB [default: 10GiB]
  --replicas <n>               put with --nats: replicas of the bucket if this put creates it [default: 1]
  --json                       list, put: JSON output (list: each file's digest too)
  -h, --help                   this help
${NATS_CLI_USAGE}`;
