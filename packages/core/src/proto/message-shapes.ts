// Request interfaces describe messages as protobufjs decodes them (what a server
// handler receives); response interfaces describe the plain objects a server
// builds. A client needs the opposite of each; these two mapped types derive
// them instead of hand-writing every message twice.
import type Long from 'long';
import type { Int64, Int64Like } from './int64.js';

type Scalar = string | number | boolean | bigint | symbol | null | undefined;

/**
 * A message as protobufjs decodes it, from a response-shaped (plain, optional,
 * Int64Like) interface: every field present, int64 as Long, absent sub-messages null.
 */
export type Decoded<T> = { [K in keyof T]-?: DecodedField<Exclude<T[K], undefined>> };

type DecodedField<F> = [Int64Like] extends [F]
  ? Int64
  : [F] extends [Uint8Array]
    ? Uint8Array
    : [F] extends [readonly (infer E)[]]
      ? DecodedElement<E>[]
      : [F] extends [Scalar]
        ? F
        : Decoded<NonNullable<F>> | null;

type DecodedElement<E> = [Int64Like] extends [E]
  ? Int64
  : [E] extends [Uint8Array]
    ? Uint8Array
    : [E] extends [Scalar]
      ? E
      : Decoded<E>;

/**
 * What may be passed to the encoder for a request-shaped (decoded) interface:
 * every field optional, int64 also as a decimal string, sub-messages recursively so.
 */
export type Init<T> = { [K in keyof T]?: InitField<Exclude<T[K], undefined>> };

type InitField<F> = [Long] extends [F]
  ? Int64Like
  : [F] extends [Uint8Array]
    ? Uint8Array
    : [F] extends [readonly (infer E)[]]
      ? InitElement<E>[]
      : [F] extends [Scalar]
        ? F
        : Init<NonNullable<F>> | null;

type InitElement<E> = [Long] extends [E]
  ? Int64Like
  : [E] extends [Uint8Array]
    ? Uint8Array
    : [E] extends [Scalar]
      ? E
      : Init<E>;
