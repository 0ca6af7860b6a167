import { describe, expect, it } from 'vitest';
import {
  ETCD_ERRORS,
  ETCD_ERROR_LIST,
  EtcdError,
  GrpcCode,
  grpcCodeName,
  isEtcdError,
  lookupEtcdError,
  type EtcdErrorName,
} from '../src/etcd-errors.js';

describe('etcd error catalogue', () => {
  it('covers all 63 server-side errors of etcd v3.6 rpctypes', () => {
    expect(ETCD_ERROR_LIST).toHaveLength(63);
  });

  it('every message starts with "etcdserver: " like etcd\'s', () => {
    for (const e of ETCD_ERROR_LIST) expect(e.message.startsWith('etcdserver: '), e.name).toBe(true);
  });

  it('codes are valid gRPC codes 0..16 and codeName agrees', () => {
    for (const e of ETCD_ERROR_LIST) {
      expect(Number.isInteger(e.code)).toBe(true);
      expect(e.code).toBeGreaterThanOrEqual(0);
      expect(e.code).toBeLessThanOrEqual(16);
      expect(GrpcCode[e.codeName]).toBe(e.code);
      expect(grpcCodeName(e.code)).toBe(e.codeName);
      // An error is never OK.
      expect(e.code).not.toBe(GrpcCode.OK);
    }
  });

  it('names and messages are unique, and keys match entry names', () => {
    expect(new Set(ETCD_ERROR_LIST.map((e) => e.name)).size).toBe(ETCD_ERROR_LIST.length);
    expect(new Set(ETCD_ERROR_LIST.map((e) => e.message)).size).toBe(ETCD_ERROR_LIST.length);
    for (const [k, e] of Object.entries(ETCD_ERRORS)) expect(e.name).toBe(k);
  });

  it('gRPC code table matches the spec numbering', () => {
    expect(GrpcCode).toEqual({
      OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4,
      NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8,
      FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12,
      INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
    });
    expect(grpcCodeName(17)).toBeUndefined();
    expect(grpcCodeName(-1)).toBeUndefined();
  });

  it('spot-checks exact text and codes verified against etcd source', () => {
    const expected: [EtcdErrorName, string, number][] = [
      ['ErrGRPCEmptyKey', 'etcdserver: key is not provided', 3],
      ['ErrGRPCCompacted', 'etcdserver: mvcc: required revision has been compacted', 11],
      ['ErrGRPCFutureRev', 'etcdserver: mvcc: required revision is a future revision', 11],
      ['ErrGRPCNoSpace', 'etcdserver: mvcc: database space exceeded', 8],
      ['ErrGRPCLeaseNotFound', 'etcdserver: requested lease not found', 5],
      ['ErrGRPCPermissionDenied', 'etcdserver: permission denied', 7],
      ['ErrGRPCInvalidAuthToken', 'etcdserver: invalid auth token', 16],
      ['ErrGRPCNoLeader', 'etcdserver: no leader', 14],
      ['ErrGRPCNotLeader', 'etcdserver: not leader', 9],
      ['ErrGRPCCorrupt', 'etcdserver: corrupt cluster', 15],
      ['ErrGRPCWatchCanceled', 'etcdserver: watch canceled', 1],
      ['ErrGRPCDeadlineExceeded', 'etcdserver: context deadline exceeded', 4],
      ['ErrGRPCPeerURLExist', 'etcdserver: Peer URLs already exists', 9],
    ];
    for (const [name, message, code] of expected) {
      expect(ETCD_ERRORS[name].message).toBe(message);
      expect(ETCD_ERRORS[name].code).toBe(code);
    }
  });

  it('marks the errors etcd\'s Go client does not map by message', () => {
    const unmapped = ETCD_ERROR_LIST.filter((e) => !e.clientMapped).map((e) => e.name).sort();
    expect(unmapped).toEqual([
      'ErrGRPCCanceled',
      'ErrGRPCDeadlineExceeded',
      'ErrGRPCInvalidClientAPIVersion',
      'ErrGRPCPermissionNotGiven',
      'ErrGRPCTimeoutWaitAppliedIndex',
      'ErrGRPCWatchCanceled',
    ]);
  });

  it('entries are frozen', () => {
    expect(Object.isFrozen(ETCD_ERRORS)).toBe(true);
    expect(Object.isFrozen(ETCD_ERRORS.ErrGRPCCompacted)).toBe(true);
  });
});

describe('lookup by message', () => {
  it('round-trips every entry', () => {
    for (const e of ETCD_ERROR_LIST) expect(lookupEtcdError(e.message)).toBe(e);
  });

  it('is exact: no prefix, case or whitespace tolerance', () => {
    expect(lookupEtcdError('etcdserver: no leader ')).toBeUndefined();
    expect(lookupEtcdError('Etcdserver: no leader')).toBeUndefined();
    expect(lookupEtcdError('no leader')).toBeUndefined();
    expect(lookupEtcdError('')).toBeUndefined();
  });
});

describe('EtcdError', () => {
  it('has the gRPC service-error shape', () => {
    const err = new EtcdError(ETCD_ERRORS.ErrGRPCCompacted);
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err.code).toBe(11);
    expect(err.details).toBe('etcdserver: mvcc: required revision has been compacted');
    expect(err.message).toBe(err.details);
    expect(err.name).toBe('ErrGRPCCompacted');
    expect(err.entry).toBe(ETCD_ERRORS.ErrGRPCCompacted);
    expect(String(err)).toBe('ErrGRPCCompacted: etcdserver: mvcc: required revision has been compacted');
  });

  it('fromMessage rebuilds typed errors and rejects unknown text', () => {
    for (const e of ETCD_ERROR_LIST) {
      const err = EtcdError.fromMessage(e.message);
      expect(err?.code).toBe(e.code);
      expect(err?.name).toBe(e.name);
    }
    expect(EtcdError.fromMessage('something else')).toBeUndefined();
  });

  it('isEtcdError matches by message text or gRPC details', () => {
    const entry = ETCD_ERRORS.ErrGRPCLeaseNotFound;
    expect(isEtcdError(new EtcdError(entry), entry)).toBe(true);
    expect(isEtcdError({ code: 5, details: entry.message, message: `5 NOT_FOUND: ${entry.message}` }, entry)).toBe(true);
    expect(isEtcdError(new EtcdError(ETCD_ERRORS.ErrGRPCMemberNotFound), entry)).toBe(false);
    expect(isEtcdError(null, entry)).toBe(false);
    expect(isEtcdError(entry.message, entry)).toBe(false);
  });
});
