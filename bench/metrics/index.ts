// The metrics `npm run bench` runs, in order. Explicit list: no registration by import side effect.
import type { Metric } from '../lib/types.ts';
import { checkpointIncrementalBytesRatio, checkpointPauseMs, restoreRatioToRawRead } from './checkpoint.ts';
import { codersRatioToMsgpackr } from './coders.ts';
import { embeddedMsgsPerSec } from './embedded.ts';
import { jetstreamNoOutputRatioToNaiveKv, jetstreamNoOutputRatioToRawOrdered } from './jetstream.ts';
import { memoryBytesPerKey } from './memory.ts';
import { opsMetricsOverheadRatio } from './ops.ts';
import {
  checkpointCommitLatencyMs,
  jetstreamOutputsPerSec,
  jetstreamWordcountLinesPerSec,
  runtimeIntakePauseMs,
} from './output-path.ts';
import { scaleoutCpuPerMessageUs, scaleoutFailoverMs, scaleoutRatioToSingle } from './scale-out.ts';
import { stateMapRatioToMap, stateValueRatioToMap } from './state.ts';
import { restoreDiskReadyMs, stateDiskKeysPerGiB, stateDiskZipfRatioToHeap } from './state-disk.ts';
import { stateApiEventualGetPerSec, stateApiStrongGetPerSec, stateApiWritePerSec } from './state-api.ts';

export const metrics: readonly Metric[] = [
  stateValueRatioToMap,
  stateMapRatioToMap,
  memoryBytesPerKey,
  stateDiskZipfRatioToHeap,
  stateDiskKeysPerGiB,
  restoreDiskReadyMs,
  codersRatioToMsgpackr,
  checkpointPauseMs,
  checkpointIncrementalBytesRatio,
  restoreRatioToRawRead,
  embeddedMsgsPerSec,
  opsMetricsOverheadRatio,
  jetstreamOutputsPerSec,
  jetstreamWordcountLinesPerSec,
  runtimeIntakePauseMs,
  checkpointCommitLatencyMs,
  jetstreamNoOutputRatioToRawOrdered,
  jetstreamNoOutputRatioToNaiveKv,
  stateApiStrongGetPerSec,
  stateApiEventualGetPerSec,
  stateApiWritePerSec,
  scaleoutRatioToSingle,
  scaleoutFailoverMs,
  scaleoutCpuPerMessageUs,
];
