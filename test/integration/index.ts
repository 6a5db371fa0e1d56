// Mocha entry point loaded by VS Code's extension test runner (extensionTestsPath) inside a real
// extension host: runs every *.test.js bundled beside it and rejects when any test fails.

import * as fs from 'fs';
import Mocha from 'mocha';
import * as path from 'path';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: path.join(__dirname, '../../../test/harness/reporter.cjs'), reporterOptions: { suite: 'integration' } });
  for (const file of fs.readdirSync(__dirname).sort()) {
    if (file.endsWith('.test.js')) {
      mocha.addFile(path.join(__dirname, file));
    }
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed.`)) : resolve()));
  });
}
