import assert from 'node:assert/strict';
import { compareKeys, decodeEntry, encodeSegment, keyToComponents, subtreeWanted } from './folder-keys';

describe('folder store key encoding', () => {
  it('object and directory of the same name get different suffixes', () => {
    assert.equal(keyToComponents('a').file.name, 'a~o');
    assert.deepEqual(keyToComponents('a/').dirs.map((d) => d.name), ['a~d']);
    assert.equal(keyToComponents('a/').file.name, '~o');
    assert.equal(keyToComponents('a//b').dirs.map((d) => d.name).join('/'), 'a~d/~d');
  });

  it('dot segments, slashes and escapes never become path navigation', () => {
    for (const key of ['..', '../x', 'a/../../etc/passwd', '.', './.', '%2e%2e/x', 'a/~o', '~h00/x']) {
      const { dirs, file } = keyToComponents(key);
      for (const name of [...dirs.map((d) => d.name), file.name]) {
        assert.ok(!name.includes('/') && name !== '.' && name !== '..', `${key} → ${name}`);
        assert.ok(name.endsWith('~o') || name.endsWith('~d'));
      }
    }
  });

  it('round-trips segments through decodeEntry', () => {
    for (const seg of ['plain', 'with space', 'ü日本😀', '%41~x', '', '.', '..', 'a\u0001b', 'tab\there']) {
      const enc = encodeSegment(seg, '~o');
      assert.equal(decodeEntry(enc.name)?.segment, seg, JSON.stringify(seg));
    }
    assert.equal(decodeEntry('~name'), undefined);
  });

  it('hashes segments too long for a file name', () => {
    const long = 'é'.repeat(200); // 400 UTF-8 bytes
    const enc = encodeSegment(long, '~d');
    assert.ok(enc.hashed);
    assert.ok(Buffer.byteLength(enc.name) <= 255);
    assert.equal(decodeEntry(enc.name)?.segment, undefined);
  });

  it('orders keys by UTF-8 bytes like S3, not by UTF-16', () => {
    // UTF-8: U+FF61 is EF BD A1, U+1F600 is F0 9F 98 80, so U+FF61 comes first. UTF-16 (JS <):
    // U+1F600 is the surrogate pair D83D DE00, which sorts before FF61.
    assert.ok(compareKeys('\uff61', '\u{1f600}') < 0);
    assert.ok('\uff61' > '\u{1f600}');
    assert.ok(compareKeys('a', 'a/') < 0 && compareKeys('a-b', 'a/') < 0 && compareKeys('a0', 'a/') > 0);
  });

  it('prunes subtrees outside the prefix or before the start key', () => {
    assert.equal(subtreeWanted('a/', 'b', undefined), false);
    assert.equal(subtreeWanted('a/', 'a/x', undefined), true);
    assert.equal(subtreeWanted('a/', '', 'a/m'), true);
    assert.equal(subtreeWanted('a/', '', 'b'), false);
    assert.equal(subtreeWanted('c/', '', 'b'), true);
  });
});
