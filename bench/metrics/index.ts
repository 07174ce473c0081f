// The metrics `npm run bench` runs, in order. Explicit list: no registration by import side effect.
import type { Metric } from '../lib/types.ts';
import { codersRatioToMsgpackr } from './coders.ts';
import { jetstreamRatioToNaiveKv, jetstreamRatioToRawOrdered } from './jetstream.ts';

export const metrics: readonly Metric[] = [codersRatioToMsgpackr, jetstreamRatioToRawOrdered, jetstreamRatioToNaiveKv];
