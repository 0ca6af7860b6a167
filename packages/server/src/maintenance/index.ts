export { AlarmStore, ALARM_BUCKET, alarmText } from './alarm-store.js';
export type { AlarmMember } from '../apply/requests.js';
export { quotaAvailable, quotaCost, effectiveQuotaBytes, DEFAULT_QUOTA_BACKEND_BYTES, type QuotaRequest } from './quota.js';
export { snapshotMessages, SNAPSHOT_BLOB_BYTES, SHA256_BYTES, type SnapshotMessage } from './snapshot-stream.js';
export { restoreSnapshot, RestoreError, type RestoreOptions, type RestoreResult } from './snapshot-restore.js';
export { moveLeader, ERR_TIMEOUT_LEADER_TRANSFER } from './move-leader.js';
