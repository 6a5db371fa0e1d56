import * as assert from 'assert';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { inlineScript } from '../../src/core/inlineScript';

const MAP = 'https://file+.vscode-resource.vscode-cdn.net/ext/out/webview/panelStart.js.map';

describe('inlineScript', () => {
  it('keeps a script as it is, but for its source map, named by its full URI', () => {
    assert.equal(inlineScript('const a = 1 < 2;\n', MAP), 'const a = 1 < 2;\n');
    assert.equal(inlineScript('f();\n//# sourceMappingURL=panelStart.js.map\n', MAP), `f();\n//# sourceMappingURL=${MAP}\n`);
  });

  it('refuses a script that would end the element or open a comment in the HTML parser', () => {
    for (const text of ['x = "</script>";', 'x = "</SCRIPT ";', 'x = "<!-- y";']) assert.equal(inlineScript(text, MAP), undefined, text);
  });

  it('takes the built starter (out/webview/panelStart.js), which must stay small', function () {
    const built = join(__dirname, '../../out/webview/panelStart.js');
    if (!existsSync(built)) this.skip(); // npm test builds out/ first
    const text = readFileSync(built, 'utf8');
    assert.ok(inlineScript(text, MAP), 'the starter holds nothing that keeps it out of the HTML');
    assert.ok(text.length < 100_000, `the starter is inlined in every panel's HTML: ${text.length} characters`);
  });
});
