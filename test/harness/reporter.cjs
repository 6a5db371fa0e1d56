// Mocha reporter: the usual spec output, then one closing line "<suite>: N passed, N failed" that
// CI and people read at a glance. The suite name is the reporter option "suite" (default "tests").
'use strict';
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const suite = (options && options.reporterOptions && options.reporterOptions.suite) || 'tests';
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = runner.stats || {};
      // Printed after Spec's epilogue, which is registered first.
      setImmediate(() => console.log(`${suite}: ${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`));
    });
  }
}

module.exports = SummaryReporter;
