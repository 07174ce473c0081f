// The scale-out tests' job: examples/wordcount.ts with 4 partitions (5 units: in.i0, count.p0..p3),
// so three workers each own one or two.
import { StringUtf8Coder } from '../../src/index.ts';
import { defineJob, json } from '../../runtime/index.ts';
import { lines } from '../../runtime/index.ts';
import { WordCount, type WordCountOutput } from '../../examples/wordcount.ts';

export const job = defineJob({ name: 'wordcount' })
  .source(lines())
  .flatMap((line) => line.split(/\s+/).filter((word) => word.length > 0))
  .keyBy((word) => word, StringUtf8Coder.of())
  .process(() => new WordCount(), { name: 'count', parallelism: 4 })
  .sink(json<WordCountOutput>());

export default job;
