// Word count: reads lines of text, splits them into words, keys by word, and emits
// {"word": w, "count": n} each time a word's count changes.
//
//   npx stator run examples/wordcount.ts --input examples/data/sample.txt --output out/wordcount.jsonl
import { StatefulTask, StateTags, StringUtf8Coder, VarLongNumberCoder } from '../src/index.ts';
import type { Message, ProcessContext } from '../src/index.ts';
import { defineJob, json, lines } from '../runtime/index.ts';

export interface WordCountOutput {
  readonly word: string;
  readonly count: number;
}

/** Counts each word: one ValueState<number> per word (the key). */
export class WordCount extends StatefulTask<string, WordCountOutput, string> {
  private static readonly COUNT = StateTags.value('count', VarLongNumberCoder.of());
  /** The count of the word (key) being handled. */
  private readonly count = this.state(WordCount.COUNT);

  override invoke(message: Message<string, string>, ctx: ProcessContext<WordCountOutput, string>): void {
    const count = (this.count.read() ?? 0) + 1;
    this.count.write(count);
    ctx.output({ word: message.key, count });
  }
}

export const job = defineJob({ name: 'wordcount' })
  .source(lines())
  .flatMap((line) => line.split(/\s+/).filter((word) => word.length > 0))
  .keyBy((word) => word, StringUtf8Coder.of())
  .process(() => new WordCount(), { name: 'count', parallelism: 2 })
  .sink(json<WordCountOutput>());

export default job;
