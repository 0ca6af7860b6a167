export { EtcdServer, type ProposalBody, type ResponseHeaderFields } from './etcd-server.js';
export { type MemberConfig, DEFAULT_QUOTA_BACKEND_BYTES } from './member-config.js';
export { createLogger, isLogLevel, SILENT, type Logger, type LogLevel } from './logger.js';
export { dataDirLayout, type DataDirLayout } from './data-dir.js';
export { startMember, type RunningMember } from './start-member.js';
