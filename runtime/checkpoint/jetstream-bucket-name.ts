// How a job+task maps to JetStream bucket names. Bucket names allow only [A-Za-z0-9_-], job and
// task names allow anything, and two different job+task pairs must never share a bucket (they
// would fence each other). So the mapping is injective, and readable for the usual names:
//
//   name   = <prefix> "-" escape(job) "-" escape(task)           e.g. stator-wordcount-counter
//   escape = [A-Za-z0-9] kept; every other UTF-8 byte as "_" + 2 lowercase hex digits
//            ("word-count" -> "word_2dcount", "a_b" -> "a_5fb", "é" -> "_c3_a9")
//
// "-" never appears inside an escaped part, so the separators are unambiguous. Names longer than
// MAX_BUCKET_NAME_LENGTH are cut and end in 16 hex digits of SHA-256(job \0 task) instead.
// The KV bucket (manifest) and the Object Store bucket (parts) share the name: their streams are
// KV_<name> and OBJ_<name>.
import { createHash } from 'node:crypto';
import { CheckpointConfigError } from '../../src/checkpoint/errors.ts';

export const MAX_BUCKET_NAME_LENGTH = 100;
const PREFIX_PATTERN = /^[A-Za-z0-9_]{1,32}$/;

function escapeName(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const isKept = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
    out += isKept ? String.fromCharCode(byte) : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The bucket name of a job+task's checkpoints (see the rule at the top of this file). */
export function jetStreamBucketName(job: string, task: string, prefix = 'stator'): string {
  if (job === '' || task === '') throw new CheckpointConfigError('job and task names must not be empty');
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new CheckpointConfigError(
      `bucket prefix ${JSON.stringify(prefix)} must match ${PREFIX_PATTERN}: use letters, digits and _`,
    );
  }
  const name = `${prefix}-${escapeName(job)}-${escapeName(task)}`;
  if (name.length <= MAX_BUCKET_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(job).update('\0').update(task).digest('hex').slice(0, 16);
  return `${name.slice(0, MAX_BUCKET_NAME_LENGTH - 17)}-${hash}`;
}
