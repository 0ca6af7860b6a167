import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/proto/loader.js';
import { eventToWire } from '../../src/watch/serve-watch.js';
import { SharedEventEncoding, watchIdField } from '../../src/watch/shared-encoding.js';
import type { KvEvent } from '../../src/kv/kv-event.js';

const kv = (key: string, rev: number) => ({ key: Buffer.from(key), value: Buffer.from(`v${rev}`), createRevision: 2, modRevision: rev, version: rev - 1, lease: 0 });
const header = (revision: number) => ({ clusterId: 7, memberId: 9, revision, raftTerm: 3 });

describe('shared encoding of a watch fan-out', () => {
  it('watch id + shared body decodes as the response encoded whole, for small and large ids', () => {
    const events: KvEvent[] = [{ type: 'put', kv: kv('a', 5) }, { type: 'delete', kv: kv('b', 5), prevKv: kv('b', 4) }];
    const shared = new SharedEventEncoding((revision, evs) => Buffer.from(encodeMessage('etcdserverpb.WatchResponse', { header: header(revision), events: evs.map(eventToWire) })));
    for (const watchId of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 53 - 1]) {
      const whole = decodeMessage('etcdserverpb.WatchResponse', encodeMessage('etcdserverpb.WatchResponse', { header: header(5), watchId, events: events.map(eventToWire) }));
      const split = decodeMessage('etcdserverpb.WatchResponse', Buffer.concat([watchIdField(watchId), shared.body(5, events)]));
      expect(JSON.stringify(split)).toEqual(JSON.stringify(whole));
    }
  });

  it('encodes once for the same events and again for other events, revisions or prev_kv', () => {
    let encodings = 0;
    const shared = new SharedEventEncoding(() => (encodings++, Buffer.from([encodings])));
    const a = kv('a', 5);
    const put: KvEvent = { type: 'put', kv: a };
    for (let w = 0; w < 100; w++) shared.body(5, [put]);
    expect(encodings).toBe(1);
    shared.body(5, [{ type: 'put', kv: a, prevKv: kv('a', 4) }]);
    shared.body(6, [put]);
    shared.body(5, [put, { type: 'put', kv: kv('b', 5) }]);
    expect(encodings).toBe(4);
  });
});
