/**
 * etcd v3's server-side error catalogue, as a client sees it over gRPC.
 *
 * Every entry mirrors one error of etcd's `rpctypes` package
 * (api/v3rpc/rpctypes/error.go, etcd v3.6.x and main): a stable name, the exact
 * status message, and the gRPC status code. The message text must be byte-exact
 * because etcd clients (notably the Go client's `rpctypes.Error`) recognise
 * server errors by comparing the status message, not the code.
 */

/** gRPC status codes (numeric values are fixed by the gRPC spec). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** Name of a gRPC status code, e.g. `"OUT_OF_RANGE"`. */
export type GrpcCodeName = keyof typeof GrpcCode;
/** Numeric gRPC status code (0..16). */
export type GrpcCode = (typeof GrpcCode)[GrpcCodeName];

const CODE_NAMES: ReadonlyMap<number, GrpcCodeName> = new Map(
  (Object.keys(GrpcCode) as GrpcCodeName[]).map((n) => [GrpcCode[n], n]),
);

/** The name of a numeric gRPC code, or undefined if it is not a valid code. */
export function grpcCodeName(code: number): GrpcCodeName | undefined {
  return CODE_NAMES.get(code);
}

/** One error of the catalogue. */
export interface EtcdErrorEntry {
  /** Stable identifier, matching etcd's Go variable name (e.g. `ErrGRPCCompacted`). */
  readonly name: string;
  /** Exact gRPC status message sent by etcd. */
  readonly message: string;
  /** Numeric gRPC status code. */
  readonly code: GrpcCode;
  /** Name of {@link code}, e.g. `"OUT_OF_RANGE"`. */
  readonly codeName: GrpcCodeName;
  /**
   * Whether etcd's Go client translates this message back into a typed error
   * (i.e. it is a key of rpctypes' message-to-error map). A few server errors
   * (watch canceled, request canceled, ...) are not in that map and reach Go
   * callers as plain gRPC status errors.
   */
  readonly clientMapped: boolean;
}

// [code, message] or [code, message, 'unmapped'] for errors etcd's Go client
// does not translate by message. Order follows the grouping in etcd's source.
type Spec = readonly [GrpcCodeName, string] | readonly [GrpcCodeName, string, 'unmapped'];

const SPEC = {
  // KV / txn request validation and MVCC.
  ErrGRPCEmptyKey: ['INVALID_ARGUMENT', 'etcdserver: key is not provided'],
  ErrGRPCKeyNotFound: ['INVALID_ARGUMENT', 'etcdserver: key not found'],
  ErrGRPCValueProvided: ['INVALID_ARGUMENT', 'etcdserver: value is provided'],
  ErrGRPCLeaseProvided: ['INVALID_ARGUMENT', 'etcdserver: lease is provided'],
  ErrGRPCTooManyOps: ['INVALID_ARGUMENT', 'etcdserver: too many operations in txn request'],
  ErrGRPCDuplicateKey: ['INVALID_ARGUMENT', 'etcdserver: duplicate key given in txn request'],
  ErrGRPCInvalidClientAPIVersion: ['INVALID_ARGUMENT', 'etcdserver: invalid client api version', 'unmapped'],
  ErrGRPCInvalidSortOption: ['INVALID_ARGUMENT', 'etcdserver: invalid sort option'],
  ErrGRPCCompacted: ['OUT_OF_RANGE', 'etcdserver: mvcc: required revision has been compacted'],
  ErrGRPCFutureRev: ['OUT_OF_RANGE', 'etcdserver: mvcc: required revision is a future revision'],
  ErrGRPCNoSpace: ['RESOURCE_EXHAUSTED', 'etcdserver: mvcc: database space exceeded'],

  // Leases.
  ErrGRPCLeaseNotFound: ['NOT_FOUND', 'etcdserver: requested lease not found'],
  ErrGRPCLeaseExist: ['FAILED_PRECONDITION', 'etcdserver: lease already exists'],
  ErrGRPCLeaseTTLTooLarge: ['OUT_OF_RANGE', 'etcdserver: too large lease TTL'],

  // Watch.
  ErrGRPCWatchCanceled: ['CANCELLED', 'etcdserver: watch canceled', 'unmapped'],

  // Cluster membership.
  ErrGRPCMemberExist: ['FAILED_PRECONDITION', 'etcdserver: member ID already exist'],
  ErrGRPCPeerURLExist: ['FAILED_PRECONDITION', 'etcdserver: Peer URLs already exists'],
  ErrGRPCMemberNotEnoughStarted: [
    'FAILED_PRECONDITION',
    'etcdserver: re-configuration failed due to not enough started members',
  ],
  ErrGRPCMemberBadURLs: ['INVALID_ARGUMENT', 'etcdserver: given member URLs are invalid'],
  ErrGRPCMemberNotFound: ['NOT_FOUND', 'etcdserver: member not found'],
  ErrGRPCMemberNotLearner: ['FAILED_PRECONDITION', 'etcdserver: can only promote a learner member'],
  ErrGRPCLearnerNotReady: [
    'FAILED_PRECONDITION',
    'etcdserver: can only promote a learner member which is in sync with leader',
  ],
  ErrGRPCTooManyLearners: ['FAILED_PRECONDITION', 'etcdserver: too many learner members in cluster'],
  ErrGRPCClusterIDMismatch: ['FAILED_PRECONDITION', 'etcdserver: cluster ID mismatch'],

  // Request admission.
  ErrGRPCRequestTooLarge: ['INVALID_ARGUMENT', 'etcdserver: request is too large'],
  ErrGRPCRequestTooManyRequests: ['RESOURCE_EXHAUSTED', 'etcdserver: too many requests'],

  // Auth.
  ErrGRPCRootUserNotExist: ['FAILED_PRECONDITION', 'etcdserver: root user does not exist'],
  ErrGRPCRootRoleNotExist: ['FAILED_PRECONDITION', 'etcdserver: root user does not have root role'],
  ErrGRPCUserAlreadyExist: ['FAILED_PRECONDITION', 'etcdserver: user name already exists'],
  ErrGRPCUserEmpty: ['INVALID_ARGUMENT', 'etcdserver: user name is empty'],
  ErrGRPCUserNotFound: ['FAILED_PRECONDITION', 'etcdserver: user name not found'],
  ErrGRPCRoleAlreadyExist: ['FAILED_PRECONDITION', 'etcdserver: role name already exists'],
  ErrGRPCRoleNotFound: ['FAILED_PRECONDITION', 'etcdserver: role name not found'],
  ErrGRPCRoleEmpty: ['INVALID_ARGUMENT', 'etcdserver: role name is empty'],
  ErrGRPCAuthFailed: ['INVALID_ARGUMENT', 'etcdserver: authentication failed, invalid user ID or password'],
  ErrGRPCPermissionNotGiven: ['INVALID_ARGUMENT', 'etcdserver: permission not given', 'unmapped'],
  ErrGRPCPermissionDenied: ['PERMISSION_DENIED', 'etcdserver: permission denied'],
  ErrGRPCRoleNotGranted: ['FAILED_PRECONDITION', 'etcdserver: role is not granted to the user'],
  ErrGRPCPermissionNotGranted: ['FAILED_PRECONDITION', 'etcdserver: permission is not granted to the role'],
  ErrGRPCAuthNotEnabled: ['FAILED_PRECONDITION', 'etcdserver: authentication is not enabled'],
  ErrGRPCInvalidAuthToken: ['UNAUTHENTICATED', 'etcdserver: invalid auth token'],
  ErrGRPCInvalidAuthMgmt: ['INVALID_ARGUMENT', 'etcdserver: invalid auth management'],
  ErrGRPCAuthOldRevision: ['INVALID_ARGUMENT', 'etcdserver: revision of auth store is old'],

  // Leadership, availability and health.
  ErrGRPCNoLeader: ['UNAVAILABLE', 'etcdserver: no leader'],
  ErrGRPCNotLeader: ['FAILED_PRECONDITION', 'etcdserver: not leader'],
  ErrGRPCLeaderChanged: ['UNAVAILABLE', 'etcdserver: leader changed'],
  // etcd v3.5 sent UNAVAILABLE for this one; v3.6+ sends FAILED_PRECONDITION.
  ErrGRPCNotCapable: ['FAILED_PRECONDITION', 'etcdserver: not capable'],
  ErrGRPCStopped: ['UNAVAILABLE', 'etcdserver: server stopped'],
  ErrGRPCTimeout: ['UNAVAILABLE', 'etcdserver: request timed out'],
  ErrGRPCTimeoutDueToLeaderFail: [
    'UNAVAILABLE',
    'etcdserver: request timed out, possibly due to previous leader failure',
  ],
  ErrGRPCTimeoutDueToConnectionLost: [
    'UNAVAILABLE',
    'etcdserver: request timed out, possibly due to connection lost',
  ],
  ErrGRPCTimeoutWaitAppliedIndex: [
    'UNAVAILABLE',
    'etcdserver: request timed out, waiting for the applied index took too long',
    'unmapped',
  ],
  ErrGRPCUnhealthy: ['UNAVAILABLE', 'etcdserver: unhealthy cluster'],
  ErrGRPCCorrupt: ['DATA_LOSS', 'etcdserver: corrupt cluster'],
  ErrGRPCNotSupportedForLearner: ['FAILED_PRECONDITION', 'etcdserver: rpc not supported for learner'],
  ErrGRPCBadLeaderTransferee: ['FAILED_PRECONDITION', 'etcdserver: bad leader transferee'],

  // Downgrade.
  ErrGRPCWrongDowngradeVersionFormat: ['INVALID_ARGUMENT', 'etcdserver: wrong downgrade target version format'],
  ErrGRPCInvalidDowngradeTargetVersion: ['INVALID_ARGUMENT', 'etcdserver: invalid downgrade target version'],
  // etcd v3.5 sent UNAVAILABLE for this one; v3.6+ sends FAILED_PRECONDITION.
  ErrGRPCClusterVersionUnavailable: [
    'FAILED_PRECONDITION',
    'etcdserver: cluster version not found during downgrade',
  ],
  ErrGRPCDowngradeInProcess: ['FAILED_PRECONDITION', 'etcdserver: cluster has a downgrade job in progress'],
  ErrGRPCNoInflightDowngrade: ['FAILED_PRECONDITION', 'etcdserver: no inflight downgrade job'],

  // Context cancellation surfaced by the server.
  ErrGRPCCanceled: ['CANCELLED', 'etcdserver: request canceled', 'unmapped'],
  ErrGRPCDeadlineExceeded: ['DEADLINE_EXCEEDED', 'etcdserver: context deadline exceeded', 'unmapped'],
} as const satisfies Record<string, Spec>;

/** Stable name of a catalogue entry, e.g. `"ErrGRPCCompacted"`. */
export type EtcdErrorName = keyof typeof SPEC;

/** The whole catalogue, keyed by stable name. */
export const ETCD_ERRORS: { readonly [K in EtcdErrorName]: EtcdErrorEntry & { readonly name: K } } =
  buildCatalogue();

function buildCatalogue(): { readonly [K in EtcdErrorName]: EtcdErrorEntry & { readonly name: K } } {
  const out: Record<string, EtcdErrorEntry> = {};
  for (const [name, spec] of Object.entries(SPEC) as [EtcdErrorName, Spec][]) {
    out[name] = Object.freeze({
      name,
      message: spec[1],
      code: GrpcCode[spec[0]],
      codeName: spec[0],
      clientMapped: spec.length === 2,
    });
  }
  return Object.freeze(out) as { readonly [K in EtcdErrorName]: EtcdErrorEntry & { readonly name: K } };
}

/** All catalogue entries, in etcd's source grouping order. */
export const ETCD_ERROR_LIST: readonly EtcdErrorEntry[] = Object.freeze(Object.values(ETCD_ERRORS));

const BY_MESSAGE: ReadonlyMap<string, EtcdErrorEntry> = new Map(ETCD_ERROR_LIST.map((e) => [e.message, e]));

/**
 * Find the entry whose message is exactly `message` (clients match errors by
 * message text). Returns undefined for anything that is not an etcd error.
 */
export function lookupEtcdError(message: string): EtcdErrorEntry | undefined {
  return BY_MESSAGE.get(message);
}

/**
 * An etcd error as raised to callers: shaped like a gRPC service error, with
 * `code` the numeric status code, `details` the exact etcd message, and `name`
 * the stable catalogue name (so `String(err)` reads "ErrGRPCCompacted: ...").
 */
export class EtcdError extends Error {
  /** Numeric gRPC status code. */
  readonly code: GrpcCode;
  /** Exact etcd status message (same text as `message`). */
  readonly details: string;
  /** The catalogue entry this error was built from. */
  readonly entry: EtcdErrorEntry;

  constructor(entry: EtcdErrorEntry) {
    super(entry.message);
    this.name = entry.name;
    this.code = entry.code;
    this.details = entry.message;
    this.entry = entry;
  }

  /** Rebuild a typed error from a status message, or undefined if the text is not in the catalogue. */
  static fromMessage(message: string): EtcdError | undefined {
    const entry = lookupEtcdError(message);
    return entry === undefined ? undefined : new EtcdError(entry);
  }
}

/**
 * Whether `err` represents the given catalogue error. Compares by message text,
 * as etcd clients do, so it also matches plain gRPC errors carrying `details`.
 */
export function isEtcdError(err: unknown, entry: EtcdErrorEntry): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { details?: unknown; message?: unknown };
  return e.details === entry.message || e.message === entry.message;
}
