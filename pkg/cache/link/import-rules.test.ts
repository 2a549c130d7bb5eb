import assert from 'node:assert/strict';
import { checkImportRules, parseImportRules, ruleFor } from './import-rules';

describe('import rules', () => {
  it('parses PREFIX:SIZE:TRIGGER lists, S3 Files trigger names and size units', () => {
    assert.deepEqual(parseImportRules(':128K:directory, logs/:0:file,a:b/:1Mi:ON_FILE_ACCESS,x/:7:ON_DIRECTORY_FIRST_ACCESS'), [
      { prefix: '', sizeLessThan: 131072, trigger: 'directory' },
      { prefix: 'logs/', sizeLessThan: 0, trigger: 'file' },
      { prefix: 'a:b/', sizeLessThan: 1048576, trigger: 'file' },
      { prefix: 'x/', sizeLessThan: 7, trigger: 'directory' },
    ]);
  });

  it('refuses bad rules with a message naming the setting and the rule', () => {
    assert.throws(() => parseImportRules('logs/:1K', '--import-rules'), /--import-rules: "logs\/:1K" is not PREFIX:SIZE:TRIGGER/);
    assert.throws(() => parseImportRules('logs/:1K:later', 'importRules'), /importRules: "logs\/:1K:later": the trigger must be directory or file/);
    assert.throws(() => parseImportRules('logs/:-1:file'), /the size must be bytes/);
    assert.throws(() => parseImportRules('logs:1K:file'), /prefix "logs" must be empty or end with '\/'/);
    assert.throws(() => parseImportRules('a/:1:file,a/:2:file'), /two import rules for prefix "a\/"/);
    assert.throws(() => checkImportRules([{ prefix: '/a/', sizeLessThan: 1, trigger: 'file' }]), /must not start with '\/'/);
  });

  it('the longest matching prefix wins', () => {
    const rules = parseImportRules(':128K:directory,logs/:0:file,logs/keep/:1M:file');
    assert.equal(ruleFor(rules, 'a/b.txt')?.sizeLessThan, 131072);
    assert.equal(ruleFor(rules, 'logs/x')?.sizeLessThan, 0);
    assert.equal(ruleFor(rules, 'logs/keep/x')?.trigger, 'file');
    assert.equal(ruleFor(parseImportRules('logs/:1:file'), 'other'), undefined);
  });
});
