// XDR (RFC 4506) byte vectors for the reader and writer: every value big-endian, every item
// a multiple of four bytes, padding zero, every length checked before use.
import assert from 'node:assert/strict';
import { XdrError, XdrReader, XdrWriter } from '.';

const hex = (s: string): Buffer => {
  const digits = s.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex in test vector: ${digits}`);
  return Buffer.from(digits, 'hex');
};
const bytes = (w: XdrWriter): string => w.toBuffer().toString('hex');

describe('XDR writer (RFC 4506 §4)', () => {
  const cases: Array<[string, (w: XdrWriter) => unknown, string]> = [
    ['int 1 (§4.1)', (w) => w.int32(1), '00000001'],
    ['int -1 is two’s complement (§4.1)', (w) => w.int32(-1), 'ffffffff'],
    ['int -2147483648', (w) => w.int32(-2147483648), '80000000'],
    ['unsigned int 0xdeadbeef (§4.2)', (w) => w.uint32(0xdeadbeef), 'deadbeef'],
    ['unsigned hyper from bigint (§4.5)', (w) => w.uint64(0x0102030405060708n), '0102030405060708'],
    ['unsigned hyper from number 2^40', (w) => w.uint64(2 ** 40), '0000010000000000'],
    ['bool TRUE / FALSE (§4.4)', (w) => w.bool(true).bool(false), '0000000100000000'],
    ['fixed opaque of 3 bytes gets one zero pad (§4.9)', (w) => w.fixedOpaque(Buffer.from('abc')), '61626300'],
    ['fixed opaque of 4 bytes gets no pad', (w) => w.fixedOpaque(Buffer.from('abcd')), '61626364'],
    ['variable opaque of 5 bytes: length, data, 3 pad (§4.10)', (w) => w.opaque(hex('0102030405')), '00000005 0102030405 000000'.replace(/ /g, '')],
    ['empty opaque is just a zero length', (w) => w.opaque(Buffer.alloc(0)), '00000000'],
    ['string "sillyprog" (§4.11)', (w) => w.string('sillyprog'), '00000009 73696c6c7970726f67 000000'.replace(/ /g, '')],
    ['UTF-8 string counts bytes, not characters', (w) => w.string('é'), '00000002c3a90000'],
    ['optional absent (§4.19)', (w) => w.optional<number>(undefined, (v) => w.uint32(v)), '00000000'],
    ['optional present', (w) => w.optional(7, (v) => w.uint32(v)), '0000000100000007'],
  ];
  for (const [name, write, expected] of cases) {
    it(name, () => {
      const w = new XdrWriter();
      write(w);
      assert.equal(bytes(w), expected);
    });
  }

  it('pads with zeros even when the buffer it grew into held garbage', () => {
    const w = new XdrWriter(4);
    for (let i = 0; i < 8; i++) w.uint32(0xffffffff);
    w.fixedOpaque(Buffer.from('a'));
    assert.equal(w.toBuffer().subarray(32).toString('hex'), '61000000');
  });

  it('grows past its initial size without losing bytes', () => {
    const w = new XdrWriter(4);
    for (let i = 0; i < 1000; i++) w.uint32(i);
    const out = w.toBuffer();
    assert.equal(out.length, 4000);
    for (let i = 0; i < 1000; i++) assert.equal(out.readUInt32BE(i * 4), i);
  });

  it('opaqueRef appends the payload by reference, with its pad, and then refuses more', () => {
    const data = Buffer.from('hello');
    const w = new XdrWriter().uint32(9).opaqueRef(data);
    const chunks = w.chunks();
    assert.equal(chunks.length, 3);
    assert.equal(chunks[0]!.toString('hex'), '0000000900000005');
    assert.equal(chunks[1], data, 'the payload itself, not a copy');
    assert.equal(chunks[2]!.toString('hex'), '000000');
    assert.equal(w.length, 16);
    assert.equal(w.toBuffer().toString('hex'), '000000090000000568656c6c6f000000');
    assert.throws(() => w.uint32(1), /by-reference/);
  });

  it('opaqueRef of a multiple of four adds no pad chunk', () => {
    const data = Buffer.alloc(8, 1);
    assert.equal(new XdrWriter().opaqueRef(data).chunks().length, 2);
  });
});

describe('XDR reader (RFC 4506 §4)', () => {
  it('decodes signed and unsigned ints', () => {
    const r = new XdrReader(hex('ffffffff ffffffff 80000000'));
    assert.equal(r.int32(), -1);
    assert.equal(r.uint32(), 4294967295);
    assert.equal(r.int32(), -2147483648);
    assert.equal(r.remaining, 0);
  });

  it('decodes hypers, and refuses a uint64 beyond 2^53 as a number', () => {
    const r = new XdrReader(hex('0102030405060708 001fffffffffffff 0020000000000000'));
    assert.equal(r.uint64(), 0x0102030405060708n);
    assert.equal(r.uint64Number(), Number.MAX_SAFE_INTEGER);
    assert.throws(() => r.uint64Number(), XdrError);
  });

  it('bool must be 0 or 1', () => {
    const r = new XdrReader(hex('00000001 00000000 00000002'));
    assert.equal(r.bool(), true);
    assert.equal(r.bool(), false);
    assert.throws(() => r.bool(), XdrError);
  });

  it('enumOf refuses values outside the enum', () => {
    assert.equal(new XdrReader(hex('00000002')).enumOf([1, 2, 3] as const, 'ftype'), 2);
    assert.throws(() => new XdrReader(hex('00000009')).enumOf([1, 2, 3] as const, 'ftype'), /invalid ftype 9/);
  });

  it('variable opaque skips its padding and returns a view, not a copy', () => {
    const buf = hex('00000005 0102030405 000000 0000002a');
    const r = new XdrReader(buf);
    const v = r.opaque(16);
    assert.equal(v.toString('hex'), '0102030405');
    assert.equal(v.buffer, buf.buffer);
    assert.equal(r.uint32(), 42);
  });

  it('string "sillyprog"', () => {
    assert.equal(new XdrReader(hex('00000009 73696c6c7970726f67 000000')).string(255), 'sillyprog');
  });

  it('optional-data', () => {
    const r = new XdrReader(hex('00000000 00000001 00000007'));
    assert.equal(r.optional(() => r.uint32()), undefined);
    assert.equal(r.optional(() => r.uint32()), 7);
  });

  it('counted array', () => {
    const r = new XdrReader(hex('00000002 00000001 00000002'));
    assert.deepEqual(r.array(16, () => r.uint32()), [1, 2]);
  });

  it('window: offset and end bound what can be read', () => {
    const r = new XdrReader(hex('00000001 00000002 00000003'), 4, 8);
    assert.equal(r.uint32(), 2);
    assert.throws(() => r.uint32(), XdrError);
  });

  const errors: Array<[string, string, (r: XdrReader) => unknown, RegExp]> = [
    ['[error] uint32 from 3 bytes', '000000', (r) => r.uint32(), /truncated/],
    ['[error] hyper from 7 bytes', '00000000000000', (r) => r.uint64(), /truncated/],
    ['[error] opaque over its limit, before reading data', '00000005 01020304 05000000', (r) => r.opaque(4), /exceeds limit 4/],
    ['[error] opaque longer than the record', '00000008 01020304', (r) => r.opaque(64), /truncated/],
    ['[error] opaque missing its padding', '00000005 0102030405', (r) => r.opaque(64), /truncated/],
    ['[error] opaque length 2^32-1 with no limit (padding must not wrap)', 'ffffffff 00000001', (r) => r.opaque(0xffffffff), /truncated/],
    ['[error] opaque length 2^31 with no limit (padding must not go negative)', '80000000 00000001 00000002', (r) => r.opaque(0xffffffff), /truncated/],
    ['[error] skip of 2^32-3 bytes', '00000001', (r) => r.skip(0xfffffffd), /truncated/],
    ['[error] string over its limit', '00000100', (r) => r.string(255), /exceeds limit 255/],
    ['[error] array count over its limit, before reading elements', 'ffffffff', (r) => r.array(16, () => r.uint32()), /exceeds limit 16/],
    ['[error] array shorter than its count', '00000003 00000001', (r) => r.array(16, () => r.uint32()), /truncated/],
    ['[error] optional with bad discriminant', '00000003', (r) => r.optional(() => r.uint32()), /bool/],
    ['[error] fixed opaque past the end', '0102', (r) => r.fixedOpaque(2), /truncated/],
    ['[error] skip past the end', '01020304', (r) => r.skip(5), /truncated/],
  ];
  for (const [name, input, read, message] of errors) {
    it(name, () => assert.throws(() => read(new XdrReader(hex(input))), (err: unknown) => err instanceof XdrError && message.test(err.message)));
  }
});
