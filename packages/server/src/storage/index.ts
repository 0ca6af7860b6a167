// A member's files: the data directory layout and the WAL plus snapshots it recovers from.
export { dataDirLayout, hasExistingMember, type DataDirLayout } from './data-dir.js';
export { MemberStorage, type MemberIdentity } from './member-storage.js';
