/** The etcd API version kvfleet speaks; clients use it to decide which features to use. */
export const API_VERSION = '3.5.0';

/** Major.minor, as etcd labels its cluster-version metric. */
export const API_MAJOR_MINOR = API_VERSION.split('.').slice(0, 2).join('.');

/** The cluster version etcd's /version reports (major.minor.0). */
export const CLUSTER_VERSION = `${API_MAJOR_MINOR}.0`;
