export { EtcdServer } from './etcd-server.js';
export type * from './roles.js';
export { type MemberConfig, type MemberTestingBugs } from './member-config.js';
export { createLogger, isLogLevel, SILENT, type Logger, type LogLevel } from '../logger.js';
export { memberMetricsSource } from './metrics-source.js';
