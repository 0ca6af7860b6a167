export { MemberMetrics, PEER_RTT_SAMPLE_INTERVAL_MS, type MetricsSource, type VersionInfo } from './member-metrics.js';
