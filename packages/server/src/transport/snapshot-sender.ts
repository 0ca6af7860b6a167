/**
 * Streams one snapshot to a peer over `Peer.SendSnapshot`: the MsgSnap, the backend data
 * re-cut into chunks of at most `chunkBytes`, then a trailer with the byte count. Writes wait
 * for the stream's 'drain', so a slow receiver throttles how fast the source is read and at
 * most a few chunks sit in memory.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Message } from '../raft/types.js';
import { identityMetadata, PEER_METHODS, toBuffer } from './peer-service.js';
import { decodeSnapshotAck, encodeSnapshotChunk } from './raft-codec.js';
import { failpointsOn, hit } from '@kvfleet/core';

export interface SnapshotSendRequest {
  readonly client: grpc.Client;
  readonly localId: number;
  readonly clusterId: number;
  readonly message: Message;
  readonly data: AsyncIterable<Uint8Array>;
  readonly chunkBytes: number;
  /** Aborting cancels the transfer (peer removed, transport closing). */
  readonly signal: AbortSignal;
}

/** Resolves once the receiver stored the snapshot and acknowledged it; rejects otherwise. */
export async function sendSnapshot(req: SnapshotSendRequest): Promise<number> {
  if (failpointsOn) await hit('beforeSendSnapshot');
  const failed = new AbortController();
  let call: grpc.ClientWritableStream<Uint8Array> | undefined;
  const acked = new Promise<number>((resolve, reject) => {
    call = req.client.makeClientStreamRequest(
      PEER_METHODS.sendSnapshot,
      toBuffer,
      decodeSnapshotAck,
      identityMetadata(req.localId, req.clusterId),
      {},
      (err, ack) => {
        if (err !== null || ack === undefined) {
          // Wakes a writer parked on 'drain', which would otherwise wait forever.
          failed.abort(err ?? new Error('kvfleet: snapshot call ended without an acknowledgement'));
          reject(err ?? failed.signal.reason);
        } else {
          resolve(ack.receivedBytes);
        }
      },
    );
  });
  const stream = call!;
  stream.on('error', () => {});
  const onAbort = (): void => stream.cancel();
  req.signal.addEventListener('abort', onAbort, { once: true });
  const signal = AbortSignal.any([failed.signal, req.signal]);

  const write = async (chunk: Uint8Array): Promise<void> => {
    signal.throwIfAborted();
    if (!stream.write(chunk)) await once(stream, 'drain', { signal });
  };

  // Marks the rejection handled: it may come while the writer below is still busy.
  acked.catch(() => {});
  try {
    try {
      await write(encodeSnapshotChunk({ kind: 'message', message: req.message }));
      let total = 0;
      for await (const piece of req.data) {
        for (let off = 0; off < piece.byteLength; off += req.chunkBytes) {
          const part = piece.subarray(off, Math.min(piece.byteLength, off + req.chunkBytes));
          total += part.byteLength;
          await write(encodeSnapshotChunk({ kind: 'data', data: part }));
        }
      }
      await write(encodeSnapshotChunk({ kind: 'trailer', totalBytes: total }));
      stream.end();
    } catch (e) {
      stream.cancel();
      // The call's own error (if any) explains more than the abort that woke the writer.
      await acked.catch(() => {});
      throw failed.signal.aborted ? failed.signal.reason : e;
    }
    return await acked;
  } finally {
    req.signal.removeEventListener('abort', onAbort);
  }
}
