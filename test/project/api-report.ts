// The public API report: API Extractor reads the declarations `npm run build` emits for each entry point
// in package.json's `exports` and writes one `docs/api/<entry>.api.md` each, so a change to what users
// import shows up as a diff in review. `npm run api-report` rewrites the reports; the test in
// api-report.test.ts fails when a report is stale.
//
//   node --import tsx test/project/api-report.ts          check (exit 1 when a report differs)
//   node --import tsx test/project/api-report.ts --update  rewrite docs/api/
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';
import type { ExtractorMessage } from '@microsoft/api-extractor';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const reportFolder = join(root, 'docs', 'api');

/** One entry point: its `exports` key, the declaration file it resolves to, and its report name. */
export interface EntryPoint {
  readonly subpath: string;
  readonly types: string;
  readonly reportName: string;
}

export interface EntryReport {
  readonly entry: EntryPoint;
  /** The report in docs/api/ matched what the declarations say (always true with `update`). */
  readonly upToDate: boolean;
  /** Errors and warnings API Extractor reported (unresolved references, forgotten exports...). */
  readonly problems: readonly string[];
}

export async function entryPoints(): Promise<EntryPoint[]> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { types?: string }>;
  };
  return Object.entries(manifest.exports).flatMap(([subpath, target]) => {
    if (typeof target === 'string' || target.types === undefined) return [];
    const reportName = subpath === '.' ? 'stator' : `stator-${subpath.slice(2).replaceAll('/', '-')}`;
    return [{ subpath, types: target.types, reportName }];
  });
}

/** Builds the declarations into a temp folder and runs API Extractor on every entry point. */
export async function apiReports(options: { readonly update: boolean }): Promise<EntryReport[]> {
  const work = await mkdtemp(join(tmpdir(), 'stator-api-'));
  try {
    const outDir = join(work, 'dist');
    await promisify(execFile)(
      process.execPath,
      [
        join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        join(root, 'tsconfig.build.json'),
        '--outDir',
        outDir,
        '--sourceMap',
        'false',
        '--inlineSources',
        'false',
      ],
      {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const reports: EntryReport[] = [];
    for (const entry of await entryPoints()) {
      const problems: string[] = [];
      const config = ExtractorConfig.prepare({
        configObject: {
          projectFolder: root,
          mainEntryPointFilePath: join(outDir, entry.types.replace(/^\.\/dist\//, '')),
          compiler: {
            overrideTsconfig: {
              compilerOptions: {
                module: 'nodenext',
                moduleResolution: 'nodenext',
                target: 'es2022',
                strict: true,
                types: ['node'],
              },
            },
          },
          apiReport: {
            enabled: true,
            reportFileName: entry.reportName,
            reportFolder,
            reportTempFolder: join(work, 'reports'),
          },
          docModel: { enabled: false },
          dtsRollup: { enabled: false },
          tsdocMetadata: { enabled: false },
          messages: {
            // Release tags (@public/@beta) are not how stator marks its surface: the entry points are.
            extractorMessageReporting: { 'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None } },
            tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
          },
        },
        configObjectFullPath: join(root, 'api-extractor.json'),
        packageJsonFullPath: join(root, 'package.json'),
      });
      const result = Extractor.invoke(config, {
        localBuild: options.update,
        messageCallback: (message: ExtractorMessage) => {
          if (message.logLevel === ExtractorLogLevel.Error || message.logLevel === ExtractorLogLevel.Warning) {
            problems.push(message.formatMessageWithLocation(root));
          }
          message.handled = true;
        },
      });
      reports.push({ entry, upToDate: options.update || !result.apiReportChanged, problems });
    }
    return reports;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const update = process.argv.includes('--update');
  const reports = await apiReports({ update });
  for (const report of reports) {
    const state = update
      ? 'written'
      : report.upToDate
        ? 'up to date'
        : 'STALE (run npm run api-report and commit docs/api/)';
    console.log(`${report.entry.subpath}: docs/api/${report.entry.reportName}.api.md ${state}`);
    for (const problem of report.problems) console.log(`  ${problem}`);
  }
  if (reports.some((report) => !report.upToDate)) process.exitCode = 1;
}
