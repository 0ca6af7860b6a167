export { STATUS_HISTORY_SAMPLES, STATUS_SAMPLE_INTERVAL_MS, StatusHistory, type StatusSample } from './status-history.js';
export { registerStatusPage, type StatusPageSource } from './status-routes.js';
export { hexId, statusFields, type MemberRow, type MemberStatusFields, type ProxyFields, type StatusSnapshot } from './status-snapshot.js';
