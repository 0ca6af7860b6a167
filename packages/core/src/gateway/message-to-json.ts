/**
 * A decoded protobuf message → the JSON etcd's gateway writes (grpc-gateway v1's default
 * marshaler: jsonpb with OrigName, EmitDefaults off): proto field names, 64-bit integers as
 * decimal strings, bytes as standard base64, enums by name, scalar zero values and empty lists
 * left out, present sub-messages written even when empty, fields in .proto order. Pure.
 */
import type { Field, Message, Type } from 'protobufjs';
import { goStringify } from './go-json.js';
import { enumOf, fieldNames, messageOf } from './proto-names.js';

const TO_OBJECT = { longs: String, enums: String, bytes: String, defaults: false, arrays: false, objects: false, oneofs: false } as const;
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** The jsonpb object for `message` (a protobufjs message or plain object of `type`). */
export function messageToJsonObject(type: Type, message: Message | Record<string, unknown>): Record<string, unknown> {
  return shape(type, type.toObject(message as Message, TO_OBJECT));
}

/** The same, written as Go writes it. */
export function messageToJson(type: Type, message: Message | Record<string, unknown>): string {
  return goStringify(messageToJsonObject(type, message));
}

function shape(type: Type, obj: Record<string, unknown>): Record<string, unknown> {
  const names = fieldNames(type);
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    const name = names.get(field.name)!.orig;
    if (field.repeated) {
      if (!Array.isArray(v) || v.length === 0) continue;
      out[name] = v.map((el) => one(field, el));
    } else if (messageOf(field) !== undefined) {
      out[name] = one(field, v);
    } else if (field.partOf !== null || !isZero(field, v)) {
      // A set oneof member is written even when zero: it is a non-nil wrapper in Go.
      out[name] = v;
    }
  }
  return out;
}

function one(field: Field, v: unknown): unknown {
  const message = messageOf(field);
  return message !== undefined ? shape(message, v as Record<string, unknown>) : v;
}

function isZero(field: Field, v: unknown): boolean {
  const e = enumOf(field);
  if (e !== undefined) return v === 0 || v === e.valuesById[0];
  if (LONG_TYPES.has(field.type)) return v === '0' || v === 0;
  return v === 0 || v === false || v === '';
}
