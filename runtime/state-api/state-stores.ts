import { StringUtf8Coder } from '../../coders/index.ts';
import type { Coder } from '../../coders/index.ts';
import type { Job, StepDefinition } from '../job/job.ts';
import { StateRequestError, StateValueError } from './state-api-errors.ts';
import { fromJson } from './state-json.ts';

export type ProcessStep = Extract<StepDefinition, { kind: 'process' }>;

/** A state store of the API: one stateful stage of a job. */
export interface StateStore {
  /** `<job>.<stage>` (the job's name alone also names it when the job has one stateful stage). */
  readonly name: string;
  readonly stage: ProcessStep;
  /**
   * The key a URL names, through the stage's key coder: strings as they are; numeric keys as
   * decimal text; any other key as its JSON form (see toJson), e.g. `["a",1]`.
   * @throws StateRequestError (400) when the coder rejects it.
   */
  parseKey(text: string): unknown;
}

/** The stores of a job, by every name that reaches them. */
export class StateStores {
  private readonly byName = new Map<string, StateStore>();
  private readonly stages: readonly ProcessStep[];

  constructor(readonly job: Job) {
    this.stages = job.steps.filter((s): s is ProcessStep => s.kind === 'process');
    for (const stage of this.stages) {
      const store: StateStore = {
        name: `${job.name}.${stage.name}`,
        stage,
        parseKey: (text) => parseKey(text, stage.keyCoder, store.name),
      };
      this.byName.set(store.name, store);
    }
    if (this.stages.length === 1) this.byName.set(job.name, this.byName.get(`${job.name}.${this.stages[0]!.name}`)!);
  }

  /** The store of stage `stage`, if the job has it. */
  forStage(stage: string): StateStore | undefined {
    return this.byName.get(`${this.job.name}.${stage}`);
  }

  /** Every store name, for listings (Dapr's metadata API). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** @throws StateRequestError (400 ERR_STATE_STORE_NOT_FOUND) naming the stores there are. */
  get(name: string): StateStore {
    const store = this.byName.get(name);
    if (store !== undefined) return store;
    const known = this.names();
    const hint =
      name === this.job.name && this.stages.length > 1
        ? `job ${this.job.name} has ${this.stages.length} stateful stages: name one as <job>.<stage>`
        : `this process serves ${known.length === 0 ? 'none (the job has no stateful stage)' : known.join(', ')}`;
    throw new StateRequestError(
      'ERR_STATE_STORE_NOT_FOUND',
      `state store ${JSON.stringify(name)} is not found: ${hint}`,
    );
  }
}

function parseKey(text: string, coder: Coder<unknown>, store: string): unknown {
  if (text.length === 0) throw new StateRequestError('ERR_MALFORMED_REQUEST', `store ${store}: the key is empty`);
  if (coder instanceof StringUtf8Coder) return text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StateRequestError(
      'ERR_MALFORMED_REQUEST',
      `store ${store}: key ${JSON.stringify(text)} is not a ${coder.toString()} key; its keys are written as JSON (a number, or e.g. ["a",1])`,
    );
  }
  try {
    return fromJson(json, coder, `key ${JSON.stringify(text)}`);
  } catch (error) {
    if (error instanceof StateValueError)
      throw new StateRequestError('ERR_MALFORMED_REQUEST', `store ${store}: ${error.message}`, { cause: error });
    throw error;
  }
}
