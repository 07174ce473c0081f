// The job's file area (ctx.files, docs/files.md): the directory of embedded mode and its options.
export { openDirectoryFiles } from './directory-files.ts';
export type { DirectoryFilesOptions } from './directory-files.ts';
export type { ClosableJobFiles } from './closable-job-files.ts';
