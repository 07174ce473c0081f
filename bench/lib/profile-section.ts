// Profiles one section of a process with the V8 inspector (what `node --cpu-prof` records, limited
// to the section), so a summary shows where a metric's own side spends its time rather than its setup.
import { Session } from 'node:inspector/promises';
import { summarizeProfile, type FrameShare } from './profile-summary.ts';

export async function profileSection(run: () => Promise<void>, top = 20): Promise<FrameShare[]> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    await run();
    const { profile } = await session.post('Profiler.stop');
    return summarizeProfile(profile as Parameters<typeof summarizeProfile>[0], top);
  } finally {
    session.disconnect();
  }
}
