/**
 * A decoded JSON request body → a plain object protobufjs's `fromObject` accepts, following
 * golang/protobuf's jsonpb as etcd's gateway runs it: fields by their proto name or lowerCamel
 * JSON name (the JSON name wins when both are given), unknown fields ignored, null meaning
 * "unset", 64-bit integers as numbers or decimal strings, bytes as standard base64, enums by
 * name or number — and Go's error text when a value does not fit. Pure.
 */
import type { Field, Type } from 'protobufjs';
import { goBase64Decode } from './go-base64.js';
import { GoJsonError, goKind, JsonNumber, type JsonValue, typeError, unmarshalComplete } from './go-json.js';
import { enumOf, fieldNames, goEnumName, messageOf } from './proto-names.js';

/** Field name (protobufjs's) → value ready for `Type.fromObject`. */
export type ProtoInit = Record<string, unknown>;

const GO_SCALAR: Record<string, string> = {
  int64: 'int64',
  sint64: 'int64',
  sfixed64: 'int64',
  uint64: 'uint64',
  fixed64: 'uint64',
  int32: 'int32',
  sint32: 'int32',
  sfixed32: 'int32',
  uint32: 'uint32',
  fixed32: 'uint32',
  bool: 'bool',
  string: 'string',
  bytes: '[]uint8',
  double: 'float64',
  float: 'float32',
};

const INT_RANGE: Record<string, readonly [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint8: [0n, 255n],
};

/** Converts `value` (the body's first JSON value) for message `type`; throws GoJsonError. */
export function jsonToMessage(type: Type, value: JsonValue): ProtoInit {
  if (value === null) return {};
  if (!(value instanceof Map)) throw typeError(goKind(value), 'map[string]json.RawMessage');
  const names = fieldNames(type);
  const out: ProtoInit = {};
  // jsonpb fills plain fields first, then oneof members.
  const fields = [...type.fieldsArray.filter((f) => f.partOf === null), ...type.fieldsArray.filter((f) => f.partOf !== null)];
  for (const field of fields) {
    const n = names.get(field.name)!;
    const raw = value.has(n.json) ? value.get(n.json) : value.get(n.orig);
    if (raw === undefined || raw === null) continue;
    out[field.name] = field.repeated ? repeated(field, raw) : single(field, raw);
    if (field.partOf !== null) {
      // Only one member of a oneof survives, the last one set.
      for (const other of field.partOf.fieldsArray) if (other !== field) delete out[other.name];
    }
  }
  return out;
}

function repeated(field: Field, raw: JsonValue): unknown[] {
  if (!Array.isArray(raw)) throw typeError(goKind(raw), '[]json.RawMessage');
  return raw.map((el) => (el === null ? zeroOf(field) : single(field, el)));
}

function zeroOf(field: Field): unknown {
  if (messageOf(field) !== undefined) return {};
  if (field.type === 'bytes') return Buffer.alloc(0);
  if (field.type === 'string') return '';
  if (field.type === 'bool') return false;
  return 0;
}

function single(field: Field, raw: JsonValue): unknown {
  const message = messageOf(field);
  if (message !== undefined) return jsonToMessage(message, raw);
  const e = enumOf(field);
  if (e !== undefined) {
    if (typeof raw === 'string') {
      const v = e.values[raw];
      if (v === undefined) throw new GoJsonError(`unknown value ${goQuote(raw)} for enum ${goEnumName(e)}`);
      return v;
    }
    if (raw instanceof JsonNumber) return Number(integer(raw, 'int32', goEnumName(e)));
    throw typeError(goKind(raw), goEnumName(e));
  }
  const goType = GO_SCALAR[field.type] ?? field.type;
  switch (field.type) {
    case 'bool':
      if (typeof raw !== 'boolean') throw typeError(goKind(raw), goType);
      return raw;
    case 'string':
      if (typeof raw !== 'string') throw typeError(goKind(raw), goType);
      return raw;
    case 'bytes':
      return bytes(raw);
    case 'double':
    case 'float':
      return float(raw, goType);
    default: {
      const range = INT_RANGE[goType];
      if (range === undefined) throw new GoJsonError(`unsupported field type ${field.type}`);
      const v = integer(numericValue(raw, goType), goType, goType);
      // 64-bit values travel as decimal strings so they stay exact.
      return goType === 'int64' || goType === 'uint64' ? v.toString() : Number(v);
    }
  }
}

/** jsonpb accepts a number either bare or as a quoted JSON number (`"42"`). */
function numericValue(raw: JsonValue, goType: string): JsonNumber {
  if (typeof raw === 'string') {
    const inner = unmarshalComplete(raw);
    if (inner instanceof JsonNumber) return inner;
    throw typeError(goKind(inner), goType);
  }
  if (raw instanceof JsonNumber) return raw;
  throw typeError(goKind(raw), goType);
}

/** strconv.ParseInt/ParseUint plus the overflow check; Go names the literal when it fails. */
function integer(n: JsonNumber, rangeOf: string, goType: string): bigint {
  const range = INT_RANGE[rangeOf]!;
  if (/^-?\d+$/.test(n.literal)) {
    const v = BigInt(n.literal);
    if (v >= range[0] && v <= range[1]) return v;
  }
  throw typeError(`number ${n.literal}`, goType);
}

function float(raw: JsonValue, goType: string): number {
  const n = numericValue(raw, goType);
  const v = Number(n.literal);
  if (!Number.isFinite(v)) throw typeError(`number ${n.literal}`, goType);
  return v;
}

/** Go decodes []byte from base64 text, or from an array of byte-sized numbers. */
function bytes(raw: JsonValue): Buffer {
  if (typeof raw === 'string') return goBase64Decode(raw);
  if (Array.isArray(raw)) {
    return Buffer.from(
      raw.map((el) => {
        if (el === null) return 0;
        if (!(el instanceof JsonNumber)) throw typeError(goKind(el), 'uint8');
        return Number(integer(el, 'uint8', 'uint8'));
      }),
    );
  }
  throw typeError(goKind(raw), '[]uint8');
}

/** Go's %q for the short strings that appear in enum errors. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}
