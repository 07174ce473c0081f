// Encode+decode throughput of KvCoder(StringUtf8Coder, VarLongCoder) against msgpackr pack/unpack
// of the same values, interleaved in one process so machine noise hits both alike.
// Run: node --import tsx bench/coders.ts
import { pack, unpack } from 'msgpackr';
import { CoderUtils, KvCoder, StringUtf8Coder, VarLongCoder, type KV } from '../coders/index.ts';

const VALUES = 10_000;
const ROUNDS = 7;
const PASSES_PER_ROUND = 20;

const values: KV<string, number>[] = [];
for (let i = 0; i < VALUES; i++) values.push({ key: `word${i % 1000}`, value: (i * 7919) % 100_000 });
const coder = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());

let sink = 0;

function runCoder(): number {
  const start = process.hrtime.bigint();
  for (let p = 0; p < PASSES_PER_ROUND; p++) {
    for (let i = 0; i < VALUES; i++) {
      const bytes = CoderUtils.encodeToByteArray(coder, values[i]!);
      const back = CoderUtils.decodeFromByteArray(coder, bytes);
      sink += back.key.length;
    }
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function runMsgpackr(): number {
  const start = process.hrtime.bigint();
  for (let p = 0; p < PASSES_PER_ROUND; p++) {
    for (let i = 0; i < VALUES; i++) {
      const bytes = pack(values[i]!);
      const back = unpack(bytes) as KV<string, number>;
      sink += back.key.length;
    }
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Warm-up so both are optimized before measuring.
runCoder();
runMsgpackr();

const coderRates: number[] = [];
const msgpackrRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const ops = VALUES * PASSES_PER_ROUND;
  if (r % 2 === 0) {
    coderRates.push(ops / runCoder());
    msgpackrRates.push(ops / runMsgpackr());
  } else {
    msgpackrRates.push(ops / runMsgpackr());
    coderRates.push(ops / runCoder());
  }
}
const c = median(coderRates);
const m = median(msgpackrRates);
console.log(`KvCoder(StringUtf8Coder, VarLongCoder) encode+decode: ${Math.round(c).toLocaleString()} ops/s (median of ${ROUNDS})`);
console.log(`msgpackr pack+unpack:                                 ${Math.round(m).toLocaleString()} ops/s (median of ${ROUNDS})`);
console.log(`coders.ratioToMsgpackr: ${(c / m).toFixed(2)}`);
if (sink === -1) console.log(sink);
