// The job's file area (ctx.files, docs/files.md): a directory in embedded mode, the job's Object
// Store bucket in NATS mode, and their options.
export { openDirectoryFiles } from './directory-files.ts';
export type { DirectoryFilesOptions } from './directory-files.ts';
export { openObjectStoreFiles, filesBucketName } from './object-store-files.ts';
export type { ObjectStoreFilesOptions } from './object-store-files.ts';
export type { ClosableJobFiles } from './closable-job-files.ts';
