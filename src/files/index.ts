// The job's file area (ctx.files): the contract tasks and job code use, its name rule and errors.
// The implementations (a directory, a JetStream Object Store bucket) are in runtime/files.
export type { JobFiles, FileData, FileEntry, FileInfo, PutOptions } from './job-files.ts';
export { checkFileName, MAX_FILE_NAME_BYTES } from './file-name.ts';
export {
  FileNameError,
  FileNotFoundError,
  FileDigestMismatchError,
  FilesLimitExceededError,
  FileCorruptError,
  FilesClosedError,
  FilesUnavailableError,
} from './files-errors.ts';
