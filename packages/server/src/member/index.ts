export { memberIdFor, clusterIdFor, formatId } from './member-id.js';
export { parseInitialCluster, parseUrlList, ClusterConfigError, type ClusterConfig, type MemberInfo } from './cluster-config.js';
export { MEMBERS_BUCKET, readMembers, writeMember, removeMember } from './member-store.js';
