// The committed API reports (docs/api/*.api.md) describe the public surface the declarations really
// have: a change to what `stator`, `stator/coders`, `stator/runtime`, `stator/testing` or `stator/client`
// export must come with its report (`npm run api-report`), so reviewers see it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apiReports, entryPoints } from './api-report.ts';

test('every entry point in package.json exports has a report', async () => {
  const names = (await entryPoints()).map((entry) => entry.reportName);
  assert.equal(names, ['stator', 'stator-coders', 'stator-runtime', 'stator-testing', 'stator-client']);
});

test('the API reports in docs/api/ are up to date, and API Extractor finds no problems', async () => {
  const reports = await apiReports({ update: false });
  const stale = reports
    .filter((report) => !report.upToDate)
    .map((report) => `docs/api/${report.entry.reportName}.api.md`);
  assert.equal(stale, [], `stale API reports: run 'npm run api-report' and commit docs/api/`);
  assert.equal(
    reports.flatMap((report) => report.problems),
    [],
  );
});

test.run();
