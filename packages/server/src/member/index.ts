export { memberIdFor, clusterIdFor, formatId } from './member-id.js';
export { findFounder, parseInitialCluster, parseUrlList, ClusterConfigError, type ClusterConfig, type MemberInfo } from './cluster-config.js';
export { MEMBERS_BUCKET, MEMBERS_REMOVED_BUCKET, readMembers, readRemovedMembers, writeMember, removeMember } from './member-store.js';
