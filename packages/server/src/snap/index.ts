export { Snapshotter } from './snapshotter.js';
export { SnapFileError, decodeSnapFile, encodeSnapFile } from './snap-file.js';
