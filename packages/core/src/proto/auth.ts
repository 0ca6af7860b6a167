// Auth service messages (etcdserverpb) and the authpb records. Requests as
// decoded; responses and authpb records as built (plain, optional fields).
import type { Int64Like } from './int64.js';
import type { ResponseHeader } from './kv.js';
import type { Decoded } from './message-shapes.js';

/** authpb.Permission.Type */
export const PermissionType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermissionType = (typeof PermissionType)[keyof typeof PermissionType];

/** authpb.UserAddOptions */
export interface UserAddOptions {
  noPassword?: boolean;
}

/** authpb.User, as stored. */
export interface User {
  name?: Uint8Array;
  password?: Uint8Array;
  roles?: string[];
  options?: UserAddOptions | null;
}

/** authpb.Permission */
export interface Permission {
  permType?: PermissionType;
  key?: Uint8Array;
  rangeEnd?: Uint8Array;
}

/** authpb.Role, as stored. */
export interface Role {
  name?: Uint8Array;
  keyPermission?: Permission[];
}

/** No fields. */
export interface AuthEnableRequest {}
/** No fields. */
export interface AuthDisableRequest {}
/** No fields. */
export interface AuthStatusRequest {}
/** No fields. */
export interface AuthUserListRequest {}
/** No fields. */
export interface AuthRoleListRequest {}

export interface AuthenticateRequest {
  name: string;
  password: string;
}

export interface AuthUserAddRequest {
  name: string;
  password: string;
  options: Decoded<UserAddOptions> | null;
  hashedPassword: string;
}

export interface AuthUserGetRequest {
  name: string;
}

export interface AuthUserDeleteRequest {
  name: string;
}

export interface AuthUserChangePasswordRequest {
  name: string;
  password: string;
  hashedPassword: string;
}

/** `user` here but `name` in the revoke request, as in etcd. */
export interface AuthUserGrantRoleRequest {
  user: string;
  role: string;
}

export interface AuthUserRevokeRoleRequest {
  name: string;
  role: string;
}

export interface AuthRoleAddRequest {
  name: string;
}

export interface AuthRoleGetRequest {
  role: string;
}

export interface AuthRoleDeleteRequest {
  role: string;
}

export interface AuthRoleGrantPermissionRequest {
  name: string;
  perm: Decoded<Permission> | null;
}

export interface AuthRoleRevokePermissionRequest {
  role: string;
  key: Uint8Array;
  rangeEnd: Uint8Array;
}

/** The many auth responses that carry only a header. */
export interface AuthHeaderOnlyResponse {
  header?: ResponseHeader | null;
}

export type AuthEnableResponse = AuthHeaderOnlyResponse;
export type AuthDisableResponse = AuthHeaderOnlyResponse;
export type AuthUserAddResponse = AuthHeaderOnlyResponse;
export type AuthUserDeleteResponse = AuthHeaderOnlyResponse;
export type AuthUserChangePasswordResponse = AuthHeaderOnlyResponse;
export type AuthUserGrantRoleResponse = AuthHeaderOnlyResponse;
export type AuthUserRevokeRoleResponse = AuthHeaderOnlyResponse;
export type AuthRoleAddResponse = AuthHeaderOnlyResponse;
export type AuthRoleDeleteResponse = AuthHeaderOnlyResponse;
export type AuthRoleGrantPermissionResponse = AuthHeaderOnlyResponse;
export type AuthRoleRevokePermissionResponse = AuthHeaderOnlyResponse;

export interface AuthStatusResponse {
  header?: ResponseHeader | null;
  enabled?: boolean;
  authRevision?: Int64Like;
}

export interface AuthenticateResponse {
  header?: ResponseHeader | null;
  token?: string;
}

export interface AuthUserGetResponse {
  header?: ResponseHeader | null;
  roles?: string[];
}

export interface AuthUserListResponse {
  header?: ResponseHeader | null;
  users?: string[];
}

export interface AuthRoleGetResponse {
  header?: ResponseHeader | null;
  perm?: Permission[];
}

export interface AuthRoleListResponse {
  header?: ResponseHeader | null;
  roles?: string[];
}
