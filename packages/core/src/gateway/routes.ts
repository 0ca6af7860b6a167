/**
 * The gateway's routes: etcd's google.api.http annotations (rpc.proto, v3election.proto,
 * v3lock.proto; all `post` with `body: "*"`), each naming the gRPC method it calls.
 */
import * as proto from '../proto/index.js';
import type { Type } from 'protobufjs';

export type CallShape = 'unary' | 'serverStream' | 'bidi';

export interface GatewayRoute {
  readonly path: string;
  readonly service: proto.ServiceName;
  readonly method: string;
}

const r = (path: string, service: proto.ServiceName, method: string): GatewayRoute => ({ path, service, method });

export const GATEWAY_ROUTES: readonly GatewayRoute[] = [
  r('/v3/kv/range', 'KV', 'Range'),
  r('/v3/kv/put', 'KV', 'Put'),
  r('/v3/kv/deleterange', 'KV', 'DeleteRange'),
  r('/v3/kv/txn', 'KV', 'Txn'),
  r('/v3/kv/compaction', 'KV', 'Compact'),
  r('/v3/watch', 'Watch', 'Watch'),
  r('/v3/lease/grant', 'Lease', 'LeaseGrant'),
  r('/v3/lease/revoke', 'Lease', 'LeaseRevoke'),
  r('/v3/kv/lease/revoke', 'Lease', 'LeaseRevoke'),
  r('/v3/lease/keepalive', 'Lease', 'LeaseKeepAlive'),
  r('/v3/lease/timetolive', 'Lease', 'LeaseTimeToLive'),
  r('/v3/kv/lease/timetolive', 'Lease', 'LeaseTimeToLive'),
  r('/v3/lease/leases', 'Lease', 'LeaseLeases'),
  r('/v3/kv/lease/leases', 'Lease', 'LeaseLeases'),
  r('/v3/cluster/member/add', 'Cluster', 'MemberAdd'),
  r('/v3/cluster/member/remove', 'Cluster', 'MemberRemove'),
  r('/v3/cluster/member/update', 'Cluster', 'MemberUpdate'),
  r('/v3/cluster/member/list', 'Cluster', 'MemberList'),
  r('/v3/cluster/member/promote', 'Cluster', 'MemberPromote'),
  r('/v3/maintenance/alarm', 'Maintenance', 'Alarm'),
  r('/v3/maintenance/status', 'Maintenance', 'Status'),
  r('/v3/maintenance/defragment', 'Maintenance', 'Defragment'),
  r('/v3/maintenance/hash', 'Maintenance', 'Hash'),
  r('/v3/maintenance/hashkv', 'Maintenance', 'HashKV'),
  r('/v3/maintenance/snapshot', 'Maintenance', 'Snapshot'),
  r('/v3/maintenance/transfer-leadership', 'Maintenance', 'MoveLeader'),
  r('/v3/maintenance/downgrade', 'Maintenance', 'Downgrade'),
  r('/v3/auth/enable', 'Auth', 'AuthEnable'),
  r('/v3/auth/disable', 'Auth', 'AuthDisable'),
  r('/v3/auth/status', 'Auth', 'AuthStatus'),
  r('/v3/auth/authenticate', 'Auth', 'Authenticate'),
  r('/v3/auth/user/add', 'Auth', 'UserAdd'),
  r('/v3/auth/user/get', 'Auth', 'UserGet'),
  r('/v3/auth/user/list', 'Auth', 'UserList'),
  r('/v3/auth/user/delete', 'Auth', 'UserDelete'),
  r('/v3/auth/user/changepw', 'Auth', 'UserChangePassword'),
  r('/v3/auth/user/grant', 'Auth', 'UserGrantRole'),
  r('/v3/auth/user/revoke', 'Auth', 'UserRevokeRole'),
  r('/v3/auth/role/add', 'Auth', 'RoleAdd'),
  r('/v3/auth/role/get', 'Auth', 'RoleGet'),
  r('/v3/auth/role/list', 'Auth', 'RoleList'),
  r('/v3/auth/role/delete', 'Auth', 'RoleDelete'),
  r('/v3/auth/role/grant', 'Auth', 'RoleGrantPermission'),
  r('/v3/auth/role/revoke', 'Auth', 'RoleRevokePermission'),
  r('/v3/election/campaign', 'Election', 'Campaign'),
  r('/v3/election/proclaim', 'Election', 'Proclaim'),
  r('/v3/election/leader', 'Election', 'Leader'),
  r('/v3/election/observe', 'Election', 'Observe'),
  r('/v3/election/resign', 'Election', 'Resign'),
  r('/v3/lock/lock', 'Lock', 'Lock'),
  r('/v3/lock/unlock', 'Lock', 'Unlock'),
];

export interface ResolvedRoute extends GatewayRoute {
  readonly shape: CallShape;
  /** The gRPC path, e.g. `/etcdserverpb.KV/Range`. */
  readonly grpcPath: string;
  readonly requestType: Type;
  readonly responseType: Type;
}

/** A route with its call shape and message types, read from the loaded protos. */
export function resolveRoute(route: GatewayRoute): ResolvedRoute {
  const service = proto.serviceType(proto.SERVICES[route.service]);
  const method = service.methods[route.method];
  if (method === undefined) throw new Error(`gateway: ${route.service} has no method ${route.method}`);
  method.resolve();
  const requestType = method.resolvedRequestType;
  const responseType = method.resolvedResponseType;
  if (requestType === null || responseType === null) throw new Error(`gateway: ${route.service}.${route.method} is unresolved`);
  const shape: CallShape = method.requestStream === true ? 'bidi' : method.responseStream === true ? 'serverStream' : 'unary';
  return { ...route, shape, grpcPath: `/${proto.SERVICES[route.service]}/${route.method}`, requestType, responseType };
}
