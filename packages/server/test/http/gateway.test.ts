// The JSON gateway against an in-process kvfleet member: etcd 3.4's JSON conventions (checked
// with curl against etcd 3.4.23) for shapes, int64 strings, base64, enums, errors and streams.
import { describe, expect, it } from 'vitest';
import { b64, openStream, post, useGatewayMember } from './gateway-helpers.js';

describe('JSON gateway', () => {
  const gw = useGatewayMember();
  const url = (): string => gw().url;

  it('put and range: proto field names, int64 as strings, bytes as base64, zero values left out', async () => {
    const put = await post(url(), '/v3/kv/put', { key: b64('gw/a'), value: b64('va') });
    expect(put.status).toBe(200);
    expect(put.type).toBe('application/json');
    const rev = put.json.header.revision as string;
    expect(rev).toMatch(/^\d+$/);
    expect(Object.keys(put.json)).toEqual(['header']);
    expect(Object.keys(put.json.header)).toEqual(['cluster_id', 'member_id', 'revision', 'raft_term']);

    const range = await post(url(), '/v3/kv/range', { key: b64('gw/a') });
    expect(range.json.kvs).toEqual([
      { key: b64('gw/a'), create_revision: rev, mod_revision: rev, version: '1', value: b64('va') },
    ]);
    expect(range.json.count).toBe('1');
    expect(range.json).not.toHaveProperty('more');
    // lowerCamel names are accepted on input too; enums by name.
    const camel = await post(url(), '/v3/kv/range', { key: b64('gw/'), rangeEnd: b64('gw0'), keysOnly: true, sortOrder: 'DESCEND' });
    expect(camel.json.kvs[0]).toEqual({ key: b64('gw/a'), create_revision: rev, mod_revision: rev, version: '1' });
    const missing = await post(url(), '/v3/kv/range', { key: b64('gw/none') });
    expect(Object.keys(missing.json)).toEqual(['header']);
  });

  it('64-bit ids stay exact in both directions', async () => {
    const id = '9007199254740993'; // 2^53 + 1: not a double
    const grant = await post(url(), '/v3/lease/grant', `{"TTL":"60","ID":${id}}`);
    // kvfleet keeps lease ids below 2^53 and says so (docs/compatibility.md), exactly as sent.
    expect(grant.json).toMatchObject({ code: 3 });
    expect(grant.json.message).toContain('9007199254740993');
    const ok = await post(url(), '/v3/lease/grant', { TTL: 60, ID: 4242 });
    expect(ok.json).toMatchObject({ ID: '4242', TTL: '60' });
    const ttl = await post(url(), '/v3/lease/timetolive', { ID: '4242', keys: true });
    expect(ttl.json).toMatchObject({ ID: '4242', grantedTTL: '60' });
    const leases = await post(url(), '/v3/kv/lease/leases', {});
    expect(leases.json.leases).toContainEqual({ ID: '4242' });
    expect((await post(url(), '/v3/kv/lease/revoke', { ID: 4242 })).status).toBe(200);
  });

  it('enums are written by name, and the zero value is left out (a put event has no type)', async () => {
    await post(url(), '/v3/kv/put', { key: b64('gw/e'), value: b64('1') });
    const txn = await post(url(), '/v3/kv/txn', {
      compare: [{ key: b64('gw/e'), target: 'VALUE', result: 'EQUAL', value: b64('1') }],
      success: [{ request_delete_range: { key: b64('gw/e'), prev_kv: true } }],
    });
    expect(txn.json.succeeded).toBe(true);
    expect(txn.json.responses[0].response_delete_range).toMatchObject({ deleted: '1', prev_kvs: [{ key: b64('gw/e'), value: b64('1') }] });
    const alarm = await post(url(), '/v3/maintenance/alarm', { action: 'GET' });
    expect(alarm.status).toBe(200);
  });

  it("malformed bodies get Go's decoder errors with INVALID_ARGUMENT (400, code 3)", async () => {
    const cases: Array<[string, string]> = [
      ['{"key":"Zm9v"', 'unexpected EOF'],
      ['notjson', "invalid character 'o' in literal null (expecting 'u')"],
      ['{"key":"Zm9v",}', "invalid character '}' looking for beginning of object key string"],
      ['{"key":"Zm9v" "a":1}', 'invalid character \'"\' after object key:value pair'],
      ['{"key":123}', 'json: cannot unmarshal number into Go value of type []uint8'],
      ['{"key":"!!"}', 'illegal base64 data at input byte 0'],
      ['{"key":"Zm9"}', 'illegal base64 data at input byte 0'],
      ['{"key":"Zm9v","limit":1.5}', 'json: cannot unmarshal number 1.5 into Go value of type int64'],
      ['{"key":"Zm9v","limit":"abc"}', "invalid character 'a' looking for beginning of value"],
      ['{"key":"Zm9v","limit":""}', 'unexpected end of JSON input'],
      ['{"key":"Zm9v","count_only":"true"}', 'json: cannot unmarshal string into Go value of type bool'],
      ['{"key":"Zm9v","sort_order":"BOGUS"}', 'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder'],
      ['{"key":"Zm9v","sort_order":true}', 'json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder'],
      ['[]', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage'],
      ['<', "invalid character '<' looking for beginning of value"],
    ];
    for (const [body, message] of cases) {
      const res = await post(url(), '/v3/kv/range', body);
      expect({ body, status: res.status, json: res.json }).toEqual({ body, status: 400, json: { error: message, message, code: 3 } });
    }
    // Go escapes < > & in JSON strings.
    expect((await post(url(), '/v3/kv/range', '<')).text).toBe(
      '{"error":"invalid character \'\\u003c\' looking for beginning of value","message":"invalid character \'\\u003c\' looking for beginning of value","code":3}',
    );
    // Unknown fields are ignored, trailing bytes after the first value too, an empty body is an empty request.
    expect((await post(url(), '/v3/kv/range', '{"key":"Zm9v","nope":1} trailing')).status).toBe(200);
    expect((await post(url(), '/v3/kv/range', '')).json).toEqual({
      error: 'etcdserver: key is not provided',
      message: 'etcdserver: key is not provided',
      code: 3,
    });
  });

  it('gRPC errors map to HTTP statuses as grpc-gateway does', async () => {
    const notFound = await post(url(), '/v3/lease/revoke', { ID: 5 });
    expect(notFound.status).toBe(404);
    expect(notFound.json).toEqual({ error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5 });
    const future = await post(url(), '/v3/kv/range', { key: b64('x'), revision: '99999' });
    expect(future.status).toBe(400);
    expect(future.json).toMatchObject({ code: 11, message: 'etcdserver: mvcc: required revision is a future revision' });
    const auth = await post(url(), '/v3/auth/status', {});
    expect([auth.status, auth.json.code]).toEqual([501, 12]);
  });

  it('other methods on a gateway path answer 405, unknown /v3 paths 404, as text', async () => {
    const get = await fetch(`${url()}/v3/kv/range`);
    expect([get.status, await get.text()]).toEqual([405, 'Method Not Allowed\n']);
    const unknown = await fetch(`${url()}/v3/kv/nope`, { method: 'POST', body: '{}' });
    expect([unknown.status, await unknown.text()]).toEqual([404, 'Not Found\n']);
  });

  it('watch streams one {"result": WatchResponse} per line: created, then two events', async () => {
    const watch = await openStream(url(), '/v3/watch', JSON.stringify({ create_request: { key: b64('gw/w'), prev_kv: true } }));
    try {
      expect(watch.status).toBe(200);
      expect(watch.headers.get('content-type')).toBe('application/json');
      const created = await watch.next();
      expect(created.result.created).toBe(true);
      expect(Object.keys(created)).toEqual(['result']);
      const put = await post(url(), '/v3/kv/put', { key: b64('gw/w'), value: b64('1') });
      const del = await post(url(), '/v3/kv/deleterange', { key: b64('gw/w') });
      const first = await watch.next();
      const putRev = put.json.header.revision;
      expect(first.result.events).toEqual([
        { kv: { key: b64('gw/w'), create_revision: putRev, mod_revision: putRev, version: '1', value: b64('1') } },
      ]);
      const second = await watch.next();
      expect(second.result.events).toEqual([
        {
          type: 'DELETE',
          kv: { key: b64('gw/w'), mod_revision: del.json.header.revision },
          prev_kv: { key: b64('gw/w'), create_revision: putRev, mod_revision: putRev, version: '1', value: b64('1') },
        },
      ]);
    } finally {
      watch.close();
    }
  });

  it('a body of several watch requests sends each; a client that leaves cancels the watch', async () => {
    const body = `${JSON.stringify({ create_request: { key: b64('gw/m1') } })}\n${JSON.stringify({ create_request: { key: b64('gw/m2') } })}`;
    const watch = await openStream(url(), '/v3/watch', body);
    const a = await watch.next();
    const b = await watch.next();
    expect([a.result.created, b.result.created]).toEqual([true, true]);
    expect(new Set([a.result.watch_id ?? '0', b.result.watch_id ?? '0']).size).toBe(2);
    watch.close();
    // The member still answers (the aborted stream left nothing stuck).
    expect((await post(url(), '/v3/kv/put', { key: b64('gw/m1'), value: b64('x') })).status).toBe(200);
  });

  it('a first watch request that does not decode answers 500 with code UNKNOWN', async () => {
    const res = await post(url(), '/v3/watch', 'xx');
    expect([res.status, res.json]).toEqual([
      500,
      { error: "invalid character 'x' looking for beginning of value", message: "invalid character 'x' looking for beginning of value", code: 2 },
    ]);
  });

  it('keepalive answers each request in the body, then ends', async () => {
    await post(url(), '/v3/lease/grant', { TTL: 30, ID: 777 });
    const ka = await openStream(url(), '/v3/lease/keepalive', '{"ID":777}{"ID":"777"}');
    expect(ka.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const line = await ka.next();
      expect(line.result).toMatchObject({ ID: '777', TTL: '30' });
      expect(Object.keys(line.result)).toEqual(['header', 'ID', 'TTL']);
    }
    expect(await ka.next()).toBeUndefined();
    // An unknown lease: TTL 0 is left out.
    const gone = await openStream(url(), '/v3/lease/keepalive', '{"ID":99}');
    expect((await gone.next()).result).toEqual(expect.objectContaining({ ID: '99' }));
    expect(await gone.next()).toBeUndefined();
    // An empty body: an empty stream.
    const empty = await post(url(), '/v3/lease/keepalive', '');
    expect([empty.status, empty.text]).toEqual([200, '']);
  });

  it('the exact bytes of a put and a range response, as etcd 3.4 writes them', async () => {
    const put = await post(url(), '/v3/kv/put', { key: b64('gwjson/k'), value: b64('v') });
    const m = /^\{"header":\{"cluster_id":"(\d+)","member_id":"(\d+)","revision":"(\d+)","raft_term":"(\d+)"\}\}$/.exec(put.text);
    expect(m, put.text).not.toBeNull();
    const [, cid, mid, rev, term] = m!;
    const header = `{"cluster_id":"${cid}","member_id":"${mid}","revision":"${rev}","raft_term":"${term}"}`;
    const range = await post(url(), '/v3/kv/range', { key: b64('gwjson/k') });
    expect(range.text).toBe(
      `{"header":${header},"kvs":[{"key":"${b64('gwjson/k')}","create_revision":"${rev}","mod_revision":"${rev}","version":"1","value":"${b64('v')}"}],"count":"1"}`,
    );
  });

  it('a call the member does not serve (auth): UNIMPLEMENTED as a plain error body, HTTP 501', async () => {
    const status = await post(url(), '/v3/auth/status', {});
    expect([status.status, status.json.code]).toEqual([501, 12]);
  });

  // Last: it stops the member.
  it('a stream that fails after its first message ends with one {"error": {...}} chunk', async () => {
    const watch = await openStream(url(), '/v3/watch', JSON.stringify({ create_request: { key: b64('gw/stop') } }));
    expect((await watch.next()).result.created).toBe(true);
    await gw().stopMember();
    // Which status a stopping member ends its watches with is the member's business (today
    // CANCELLED once its gRPC server force-closes); the gateway's chunk shape is what is tested.
    const failure = await watch.next();
    expect(Object.keys(failure)).toEqual(['error']);
    expect(Object.keys(failure.error)).toEqual(['grpc_code', 'http_code', 'message', 'http_status']);
    const httpOf: Record<number, [number, string]> = { 1: [408, 'Request Timeout'], 14: [503, 'Service Unavailable'] };
    expect(httpOf[failure.error.grpc_code]).toEqual([failure.error.http_code, failure.error.http_status]);
    expect(await watch.next()).toBeUndefined();
  });
});
