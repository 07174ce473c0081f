// Dedupe: drops events delivered more than once. Input: JSON lines {"user", "eventId", "action"};
// keyed by user, a SetState<string> remembers each user's event ids; an event goes to the output
// only the first time its id is seen.
//
//   npx stator run examples/dedupe.ts --input examples/data/events.jsonl --output out/dedupe.jsonl
import { StatefulTask, StateTags, StringUtf8Coder } from '../src/index.ts';
import type { Message, ProcessContext, SetState } from '../src/index.ts';
import { defineJob, json, jsonLines } from '../runtime/index.ts';

export interface Event {
  readonly user: string;
  readonly eventId: string;
  readonly action: string;
}

export class Dedupe extends StatefulTask<Event, Event, string> {
  private static readonly SEEN = StateTags.set('seen', StringUtf8Coder.of());
  private seen!: SetState<string>;

  override open(): void {
    this.seen = this.state(Dedupe.SEEN);
  }

  override invoke(message: Message<Event, string>, ctx: ProcessContext<Event, string>): void {
    // addIfAbsent reads true when the id was absent, i.e. this is the first delivery.
    if (this.seen.addIfAbsent(message.value.eventId).read()) ctx.output(message.value);
  }
}

export const job = defineJob({ name: 'dedupe' })
  .source(jsonLines<Event>())
  .filter((event) => typeof event?.user === 'string' && typeof event.eventId === 'string')
  .keyBy((event) => event.user, StringUtf8Coder.of())
  .process(() => new Dedupe(), { name: 'dedupe', parallelism: 2 })
  .sink(json<Event>());

export default job;
