// Record marking (RFC 5531 §11): records built by hand, fed in every possible split.
import assert from 'node:assert/strict';
import { RecordError } from './errors';
import { MAX_FRAGMENTS_PER_RECORD, RecordDecoder, frameRecord } from './record';

const hex = (s: string): Buffer => {
  const digits = s.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex in test vector: ${digits}`);
  return Buffer.from(digits, 'hex');
};

function drain(d: RecordDecoder): string[] {
  const out: string[] = [];
  for (let r = d.next(); r; r = d.next()) out.push(r.toString('hex'));
  return out;
}

/** Three records: a one-fragment one, a three-fragment one with an empty fragment, an empty one. */
const STREAM = hex(`
  80000004 01020304
  00000002 aabb   00000000   80000003 ccddee
  80000000
`);
const EXPECTED = ['01020304', 'aabbccddee', ''];

describe('RecordDecoder', () => {
  it('decodes a single-fragment record', () => {
    const d = new RecordDecoder();
    d.push(hex('80000008 0000002a 00000000'));
    assert.deepEqual(drain(d), ['0000002a00000000']);
    assert.equal(d.bufferedBytes, 0);
  });

  it('reassembles a multi-fragment record, including empty fragments', () => {
    const d = new RecordDecoder();
    d.push(STREAM);
    assert.deepEqual(drain(d), EXPECTED);
  });

  it('returns undefined until the last fragment is complete', () => {
    const d = new RecordDecoder();
    d.push(hex('00000002 aabb'));
    assert.equal(d.next(), undefined);
    d.push(hex('80000001'));
    assert.equal(d.next(), undefined);
    d.push(hex('cc'));
    assert.deepEqual(drain(d), ['aabbcc']);
  });

  it('gives the same records however the stream is split in two', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      const d = new RecordDecoder();
      const got: string[] = [];
      d.push(STREAM.subarray(0, i));
      got.push(...drain(d));
      d.push(STREAM.subarray(i));
      got.push(...drain(d));
      assert.deepEqual(got, EXPECTED, `split at ${i}`);
    }
  });

  it('gives the same records when fed one byte at a time', () => {
    const d = new RecordDecoder();
    const got: string[] = [];
    for (let i = 0; i < STREAM.length; i++) {
      d.push(STREAM.subarray(i, i + 1));
      got.push(...drain(d));
    }
    assert.deepEqual(got, EXPECTED);
  });

  it('returns a record that lies inside one chunk as a view of it (no copy)', () => {
    const chunk = hex('80000004 01020304 80000004 05060708');
    const d = new RecordDecoder();
    d.push(chunk);
    const first = d.next()!;
    assert.equal(first.buffer, chunk.buffer);
    assert.equal(first.byteOffset, chunk.byteOffset + 4);
  });

  it('reassembles a large record arriving in many chunks, small and large', () => {
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const stream = Buffer.concat([hex('00010000'), body.subarray(0, 0x10000), hex(`800${(body.length - 0x10000).toString(16).padStart(5, '0')}`), body.subarray(0x10000)]);
    for (const step of [1, 3, 100, 4096, 65536]) {
      const d = new RecordDecoder();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) {
        d.push(stream.subarray(i, i + step));
        for (let r = d.next(); r; r = d.next()) got.push(r);
      }
      assert.equal(got.length, 1, `step ${step}`);
      assert.ok(got[0]!.equals(body), `step ${step}`);
    }
  });

  it('accepts a record of exactly the maximum size', () => {
    const d = new RecordDecoder(8);
    d.push(hex('00000004 01020304 80000004 05060708'));
    assert.deepEqual(drain(d), ['0102030405060708']);
  });

  it('[error] a fragment mark over the maximum throws at once, before its bytes arrive', () => {
    const d = new RecordDecoder(8);
    d.push(hex('80000009'));
    assert.throws(() => d.next(), (err: unknown) => err instanceof RecordError && err.reason === 'too-large');
  });

  it('[error] fragments that together exceed the maximum throw', () => {
    const d = new RecordDecoder(8);
    d.push(hex('00000005 0102030405 80000004'));
    assert.throws(() => d.next(), (err: unknown) => err instanceof RecordError && err.reason === 'too-large');
  });

  it('[error] the largest possible fragment mark throws with the default maximum', () => {
    const d = new RecordDecoder();
    d.push(hex('ffffffff'));
    assert.throws(() => d.next(), RecordError);
  });

  it('[error] a record of too many fragments throws', () => {
    const d = new RecordDecoder();
    d.push(Buffer.alloc(4 * (MAX_FRAGMENTS_PER_RECORD + 1)));
    assert.throws(() => d.next(), (err: unknown) => err instanceof RecordError && err.reason === 'too-many-fragments');
  });

  it('the fragment count restarts with each record', () => {
    const d = new RecordDecoder();
    const oneRecord = Buffer.concat([Buffer.alloc(4 * (MAX_FRAGMENTS_PER_RECORD - 1)), hex('80000000')]);
    d.push(oneRecord);
    d.push(oneRecord);
    assert.deepEqual(drain(d), ['', '']);
  });

  it('[error] refuses a nonsensical maximum', () => {
    assert.throws(() => new RecordDecoder(0), RangeError);
    assert.throws(() => new RecordDecoder(1.5), RangeError);
    assert.throws(() => new RecordDecoder(2 ** 31), RangeError);
  });
});

describe('frameRecord', () => {
  it('prefixes a last-fragment mark and passes the chunks through uncopied', () => {
    const a = Buffer.from('abc');
    const b = Buffer.from('defg');
    const framed = frameRecord([a, b]);
    assert.equal(framed.length, 3);
    assert.equal(framed[0]!.toString('hex'), '80000007');
    assert.equal(framed[1], a);
    assert.equal(framed[2], b);
  });

  it('frames an empty message', () => {
    assert.deepEqual(frameRecord([]).map((c) => c.toString('hex')), ['80000000']);
  });

  it('round-trips through the decoder', () => {
    const d = new RecordDecoder();
    d.push(Buffer.concat(frameRecord([hex('0102'), hex('0304')])));
    assert.deepEqual(drain(d), ['01020304']);
  });
});
