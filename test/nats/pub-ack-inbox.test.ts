import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readPubAck } from '../../runtime/nats/pub-ack-inbox.ts';

const read = (text: string) => readPubAck(new TextEncoder().encode(text));

test('readPubAck - a PubAck is stored at its seq, a duplicate says so (with or without a space)', () => {
  assert.equal(read('{"stream":"S","seq":42}'), { kind: 'stored', seq: 42, duplicate: false });
  assert.equal(read('{"stream":"S","domain":"hub","seq":7,"duplicate":true}'), {
    kind: 'stored',
    seq: 7,
    duplicate: true,
  });
  assert.equal(read('{"stream": "S", "seq": 9, "duplicate": true}'), { kind: 'stored', seq: 9, duplicate: true });
  // A stream named "error" is still a PubAck.
  assert.equal(read('{"stream":"error","seq":3}'), { kind: 'stored', seq: 3, duplicate: false });
});

test('readPubAck - an API error keeps its codes and description', () => {
  assert.equal(read('{"error":{"code":400,"err_code":10070,"description":"wrong last msg ID: x"}}'), {
    kind: 'error',
    error: { code: 400, err_code: 10070, description: 'wrong last msg ID: x' },
  });
  assert.equal(read('{"type":"io.nats.jetstream.api.v1.pub_ack_response","error":{"code":503}}'), {
    kind: 'error',
    error: { code: 503 },
  });
});

test('readPubAck - anything else is unreadable, with its text', () => {
  for (const text of ['', 'garbage', '{"stream":"S"}', '{"error":', 'null', '{"seq":"x"}']) {
    const answer = read(text);
    assert.is(answer.kind, 'unreadable', text);
    if (answer.kind === 'unreadable') assert.is(answer.text, text);
  }
});

test.run();
