import assert from 'node:assert/strict';
import { KeyMap, nameProblem } from './key-map';

describe('key mapping', () => {
  it('normalises the prefix and maps both ways', () => {
    assert.equal(new KeyMap('').prefix, '');
    assert.equal(new KeyMap('vol').prefix, 'vol/');
    assert.equal(new KeyMap('/a/b/').prefix, 'a/b/');
    const k = new KeyMap('vol');
    assert.equal(k.toS3('dir/'), 'vol/dir/');
    assert.equal(k.fromS3('vol/x'), 'x');
    assert.equal(k.fromS3('other/x'), undefined);
  });

  const names: Array<[string, boolean]> = [
    ['ok.txt', true], ['', false], ['.', false], ['..', false], ['...', true], ['a\0b', false],
    ['é'.repeat(127), true], ['é'.repeat(128), false], ['x'.repeat(255), true], ['x'.repeat(256), false],
  ];
  for (const [name, ok] of names) {
    it(`${ok ? '' : '[error] '}segment ${JSON.stringify(name.length > 12 ? `${name.slice(0, 4)}…(${Buffer.byteLength(name)} bytes)` : name)}`, () => {
      assert.equal(nameProblem(name) === undefined, ok);
    });
  }
});
