// Mocha entry point loaded by VS Code's extension test runner (extensionTestsPath) inside a real
// extension host: runs every *.test.js bundled beside it (or those named, see below) and rejects when any test fails.

import * as fs from 'fs';
import Mocha from 'mocha';
import * as path from 'path';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: path.join(__dirname, '../../../test/harness/reporter.cjs'), reporterOptions: { suite: 'integration' } });
  // node test/harness/integration.mjs <name…> runs only the files whose names contain a name.
  const only = (process.env.ATTENTION_LENS_TEST_ONLY ?? '').split(',').filter(Boolean);
  for (const file of fs.readdirSync(__dirname).sort()) {
    if (file.endsWith('.test.js') && (only.length === 0 || only.some((name) => file.includes(name)))) {
      mocha.addFile(path.join(__dirname, file));
    }
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed.`)) : resolve()));
  });
}
