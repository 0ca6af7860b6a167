// grpc-js ServiceDefinitions for etcd's services (and kvfleet's use of the
// election/lock ones), built from the parsed .proto services so method paths,
// streaming flags and message types cannot drift from the schema. Messages are
// (de)serialized with protobufjs reflection.
import type * as grpc from '@grpc/grpc-js';
import type { Type } from 'protobufjs';
import { serviceType } from './loader.js';
import type * as auth from './auth.js';
import type * as cluster from './cluster.js';
import type * as election from './election.js';
import type * as kv from './kv.js';
import type * as lease from './lease.js';
import type * as lock from './lock.js';
import type * as maint from './maintenance.js';
import type * as watch from './watch.js';

/** Fully qualified proto names of the services, keyed by the short names we use. */
export const SERVICES = {
  KV: 'etcdserverpb.KV',
  Watch: 'etcdserverpb.Watch',
  Lease: 'etcdserverpb.Lease',
  Cluster: 'etcdserverpb.Cluster',
  Maintenance: 'etcdserverpb.Maintenance',
  Auth: 'etcdserverpb.Auth',
  Election: 'v3electionpb.Election',
  Lock: 'v3lockpb.Lock',
} as const;
export type ServiceName = keyof typeof SERVICES;

// Type-level method descriptors: request type (as decoded), response type (as
// built) and call shape. Only used to derive handler and client types.
export interface Unary<Req, Res> {
  readonly kind: 'unary';
  readonly req: Req;
  readonly res: Res;
}
export interface ServerStream<Req, Res> {
  readonly kind: 'serverStream';
  readonly req: Req;
  readonly res: Res;
}
export interface Bidi<Req, Res> {
  readonly kind: 'bidi';
  readonly req: Req;
  readonly res: Res;
}

export interface KVMethods {
  Range: Unary<kv.RangeRequest, kv.RangeResponse>;
  Put: Unary<kv.PutRequest, kv.PutResponse>;
  DeleteRange: Unary<kv.DeleteRangeRequest, kv.DeleteRangeResponse>;
  Txn: Unary<kv.TxnRequest, kv.TxnResponse>;
  Compact: Unary<kv.CompactionRequest, kv.CompactionResponse>;
}

export interface WatchMethods {
  Watch: Bidi<watch.WatchRequest, watch.WatchResponse>;
}

export interface LeaseMethods {
  LeaseGrant: Unary<lease.LeaseGrantRequest, lease.LeaseGrantResponse>;
  LeaseRevoke: Unary<lease.LeaseRevokeRequest, lease.LeaseRevokeResponse>;
  LeaseKeepAlive: Bidi<lease.LeaseKeepAliveRequest, lease.LeaseKeepAliveResponse>;
  LeaseTimeToLive: Unary<lease.LeaseTimeToLiveRequest, lease.LeaseTimeToLiveResponse>;
  LeaseLeases: Unary<lease.LeaseLeasesRequest, lease.LeaseLeasesResponse>;
}

export interface ClusterMethods {
  MemberAdd: Unary<cluster.MemberAddRequest, cluster.MemberAddResponse>;
  MemberRemove: Unary<cluster.MemberRemoveRequest, cluster.MemberRemoveResponse>;
  MemberUpdate: Unary<cluster.MemberUpdateRequest, cluster.MemberUpdateResponse>;
  MemberList: Unary<cluster.MemberListRequest, cluster.MemberListResponse>;
  MemberPromote: Unary<cluster.MemberPromoteRequest, cluster.MemberPromoteResponse>;
}

export interface MaintenanceMethods {
  Alarm: Unary<maint.AlarmRequest, maint.AlarmResponse>;
  Status: Unary<maint.StatusRequest, maint.StatusResponse>;
  Defragment: Unary<maint.DefragmentRequest, maint.DefragmentResponse>;
  Hash: Unary<maint.HashRequest, maint.HashResponse>;
  HashKV: Unary<maint.HashKVRequest, maint.HashKVResponse>;
  Snapshot: ServerStream<maint.SnapshotRequest, maint.SnapshotResponse>;
  MoveLeader: Unary<maint.MoveLeaderRequest, maint.MoveLeaderResponse>;
  Downgrade: Unary<maint.DowngradeRequest, maint.DowngradeResponse>;
}

export interface AuthMethods {
  AuthEnable: Unary<auth.AuthEnableRequest, auth.AuthEnableResponse>;
  AuthDisable: Unary<auth.AuthDisableRequest, auth.AuthDisableResponse>;
  AuthStatus: Unary<auth.AuthStatusRequest, auth.AuthStatusResponse>;
  Authenticate: Unary<auth.AuthenticateRequest, auth.AuthenticateResponse>;
  UserAdd: Unary<auth.AuthUserAddRequest, auth.AuthUserAddResponse>;
  UserGet: Unary<auth.AuthUserGetRequest, auth.AuthUserGetResponse>;
  UserList: Unary<auth.AuthUserListRequest, auth.AuthUserListResponse>;
  UserDelete: Unary<auth.AuthUserDeleteRequest, auth.AuthUserDeleteResponse>;
  UserChangePassword: Unary<auth.AuthUserChangePasswordRequest, auth.AuthUserChangePasswordResponse>;
  UserGrantRole: Unary<auth.AuthUserGrantRoleRequest, auth.AuthUserGrantRoleResponse>;
  UserRevokeRole: Unary<auth.AuthUserRevokeRoleRequest, auth.AuthUserRevokeRoleResponse>;
  RoleAdd: Unary<auth.AuthRoleAddRequest, auth.AuthRoleAddResponse>;
  RoleGet: Unary<auth.AuthRoleGetRequest, auth.AuthRoleGetResponse>;
  RoleList: Unary<auth.AuthRoleListRequest, auth.AuthRoleListResponse>;
  RoleDelete: Unary<auth.AuthRoleDeleteRequest, auth.AuthRoleDeleteResponse>;
  RoleGrantPermission: Unary<auth.AuthRoleGrantPermissionRequest, auth.AuthRoleGrantPermissionResponse>;
  RoleRevokePermission: Unary<auth.AuthRoleRevokePermissionRequest, auth.AuthRoleRevokePermissionResponse>;
}

export interface ElectionMethods {
  Campaign: Unary<election.CampaignRequest, election.CampaignResponse>;
  Proclaim: Unary<election.ProclaimRequest, election.ProclaimResponse>;
  Leader: Unary<election.LeaderRequest, election.LeaderResponse>;
  Observe: ServerStream<election.LeaderRequest, election.LeaderResponse>;
  Resign: Unary<election.ResignRequest, election.ResignResponse>;
}

export interface LockMethods {
  Lock: Unary<lock.LockRequest, lock.LockResponse>;
  Unlock: Unary<lock.UnlockRequest, lock.UnlockResponse>;
}

/** Method descriptors per service. */
export interface ServiceMethods {
  KV: KVMethods;
  Watch: WatchMethods;
  Lease: LeaseMethods;
  Cluster: ClusterMethods;
  Maintenance: MaintenanceMethods;
  Auth: AuthMethods;
  Election: ElectionMethods;
  Lock: LockMethods;
}

type HandlerOf<M> =
  M extends Unary<infer Q, infer R>
    ? grpc.handleUnaryCall<Q, R>
    : M extends ServerStream<infer Q, infer R>
      ? grpc.handleServerStreamingCall<Q, R>
      : M extends Bidi<infer Q, infer R>
        ? grpc.handleBidiStreamingCall<Q, R>
        : never;

/**
 * The implementation object for `server.addService(serviceDefinition(name), impl)`.
 * A mapped type (not an interface) so it is assignable to grpc-js's untyped form.
 */
export type ServiceHandlers<S extends ServiceName> = {
  [K in keyof ServiceMethods[S]]: HandlerOf<ServiceMethods[S][K]>;
};

const definitions = new Map<ServiceName, grpc.ServiceDefinition>();

/**
 * The grpc-js ServiceDefinition of a service (built once). Paths are etcd's, e.g.
 * `/etcdserverpb.KV/Range`; each method also carries a lower-camel `originalName`
 * so generic clients get `range` as an alias of `Range`.
 */
export function serviceDefinition<S extends ServiceName>(
  name: S,
): grpc.ServiceDefinition<ServiceHandlers<S>> {
  let def = definitions.get(name);
  if (def === undefined) {
    def = buildDefinition(SERVICES[name]);
    definitions.set(name, def);
  }
  return def as grpc.ServiceDefinition<ServiceHandlers<S>>;
}

function buildDefinition(fullName: string): grpc.ServiceDefinition {
  const service = serviceType(fullName);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const reqType = method.resolvedRequestType;
    const resType = method.resolvedResponseType;
    if (reqType === null || resType === null) throw new Error(`proto: ${fullName}.${method.name} is unresolved`);
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(reqType),
      requestDeserialize: deserializer(reqType),
      responseSerialize: serializer(resType),
      responseDeserialize: deserializer(resType),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return def;
}

function serializer(type: Type): (value: unknown) => Buffer {
  return (value) => {
    // Already encoded (a watch fan-out encodes a revision's events once for every watcher).
    if (Buffer.isBuffer(value)) return value;
    const bytes = type.encode(value as object).finish();
    // grpc-js wants a Buffer; protobufjs already returns one under Node, so this rarely copies.
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: Type): (bytes: Buffer) => unknown {
  return (bytes) => type.decode(bytes);
}
