import assert from 'node:assert/strict';
import { parseByteSize } from './byte-size';

describe('parseByteSize: sizes as the command line and import rules write them', () => {
  it('reads plain bytes and K, M, G, T as powers of 1024, with or without i and B', () => {
    assert.equal(parseByteSize('1073741824'), 2 ** 30);
    assert.equal(parseByteSize('128K'), 128 * 1024);
    assert.equal(parseByteSize('128Ki'), 128 * 1024);
    assert.equal(parseByteSize('512MiB'), 512 * 2 ** 20);
    assert.equal(parseByteSize('10g'), 10 * 2 ** 30);
    assert.equal(parseByteSize('1.5M'), 1.5 * 2 ** 20);
    assert.equal(parseByteSize(' 2T '), 2 * 2 ** 40);
  });

  it('[error] is undefined for what is not a size, and for sizes past a safe integer', () => {
    for (const bad of ['', 'K', '-1', '10X', '10 GB extra', '1e3', '0x10', '99999999T']) assert.equal(parseByteSize(bad), undefined, bad);
  });
});
