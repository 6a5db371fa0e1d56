// Mocha reporter: the usual spec output, then one closing line "<suite>: N passed, N failed" that
// CI and people read at a glance. The suite name is the reporter option "suite" (default "tests").
// Inside a VS Code extension host driven by test/harness/integration.mjs, console output reaches the
// harness mixed with the workbench's own log; when ATTENTION_LENS_TEST_TAG is set, every line this
// reporter prints is prefixed with it so the harness can pick out exactly the test output.
'use strict';
const Mocha = require('mocha');
const { format } = require('util');

const Base = Mocha.reporters.Base;
const tag = process.env.ATTENTION_LENS_TEST_TAG;
if (tag && !Base.consoleLog.attentionLensTagged) {
  const original = Base.consoleLog;
  const tagged = (...args) => original(format(...args).split('\n').map((line) => tag + line).join('\n'));
  tagged.attentionLensTagged = true;
  Base.consoleLog = tagged;
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const suite = (options && options.reporterOptions && options.reporterOptions.suite) || 'tests';
    // Registered after Spec's epilogue, so it prints after it. Synchronously: an extension host may exit
    // as soon as the run ends, and a deferred line would be lost.
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = runner.stats || {};
      Base.consoleLog(`${suite}: ${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`);
    });
  }
}

module.exports = SummaryReporter;
