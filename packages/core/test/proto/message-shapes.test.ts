// Type-level checks of the derived shapes; vitest runs them as no-ops, `tsc` on
// this file is what verifies them.
import type Long from 'long';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  Decoded,
  Init,
  Int64,
  Int64Like,
  KeyValue,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  TxnRequest,
  WatchResponse,
} from '../../src/proto/index.js';

describe('Decoded<T> (what a client receives)', () => {
  it('makes every field present, int64 Int64, sub-messages nullable, arrays of decoded messages', () => {
    type R = Decoded<RangeResponse>;
    expectTypeOf<R['count']>().toEqualTypeOf<Int64>();
    expectTypeOf<R['more']>().toEqualTypeOf<boolean>();
    expectTypeOf<R['header']>().toEqualTypeOf<Decoded<ResponseHeader> | null>();
    expectTypeOf<R['kvs']>().toEqualTypeOf<Decoded<KeyValue>[]>();
    expectTypeOf<Decoded<KeyValue>['key']>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<Decoded<WatchResponse>['cancelReason']>().toEqualTypeOf<string>();
  });
});

describe('Init<T> (what a client sends)', () => {
  it('makes every field optional and int64 Int64Like, recursively', () => {
    type I = Init<RangeRequest>;
    expectTypeOf<I['limit']>().toEqualTypeOf<Int64Like | undefined>();
    expectTypeOf<I['key']>().toEqualTypeOf<Uint8Array | undefined>();
    expectTypeOf<{ key: Uint8Array }>().toMatchTypeOf<I>();
    expectTypeOf<{ success: { requestPut: { key: Uint8Array; lease: string } }[] }>().toMatchTypeOf<Init<TxnRequest>>();
    // A decoded request can be re-encoded as is (e.g. into a Raft entry).
    expectTypeOf<RangeRequest>().toMatchTypeOf<I>();
    expectTypeOf<Long>().toMatchTypeOf<Int64Like>();
  });
});
