// The unit-failure tests' job: wordcount with 2 partitions, counted by a WordCount subclass that
// fails the way a test needs (its open() throws, once or for one partition).
import { StringUtf8Coder } from '../../src/index.ts';
import { defineJob, json, lines, type Job } from '../../runtime/index.ts';
import { WordCount, type WordCountOutput } from '../../examples/wordcount.ts';

export function wordcountCountedBy(Task: new () => WordCount): Job {
  return defineJob({ name: 'wordcount' })
    .source(lines())
    .flatMap((line) => line.split(/\s+/).filter((word) => word.length > 0))
    .keyBy((word) => word, StringUtf8Coder.of())
    .process(() => new Task(), { name: 'count', parallelism: 2 })
    .sink(json<WordCountOutput>());
}
