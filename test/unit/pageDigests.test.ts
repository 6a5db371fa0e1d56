// Unit tests of parsePageDigests (src/core/pageResources.ts): the build's list of the pages' files and their SHA-256
// digests (esbuild.mjs writes it, the file server names the pages' published folder by it) is read as written, and a
// damaged one gets an error that names the file, the entry, what was expected and what was found.

import * as assert from 'assert';
import { createHash } from 'crypto';
import { parsePageDigests } from '../../src/core/pageResources';

const FILE = 'out/webview/digests.json';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe("the pages' digests (the published folder's name)", () => {
  it('reads a list of file names and SHA-256 digests as written', () => {
    const list = { 'panel.js': sha256('panel'), 'panel.js.br': sha256('br'), 'main.css': sha256('css') };
    assert.deepStrictEqual(parsePageDigests(`${JSON.stringify(list, null, 1)}\n`, FILE), list);
    assert.deepStrictEqual(parsePageDigests('{}', FILE), {});
  });

  it('names the file, the entry, what was expected and what was found in a damaged list', () => {
    assert.throws(() => parsePageDigests('{"panel.js": ', FILE), (err: Error) => err.message.startsWith(`${FILE} is not JSON (`));
    assert.throws(() => parsePageDigests('["panel.js"]', FILE), { message: `${FILE}: expected an object of file names and SHA-256 digests, found an array` });
    assert.throws(() => parsePageDigests('null', FILE), { message: `${FILE}: expected an object of file names and SHA-256 digests, found null` });
    assert.throws(() => parsePageDigests('"panel.js"', FILE), { message: `${FILE}: expected an object of file names and SHA-256 digests, found string` });
    assert.throws(() => parsePageDigests(JSON.stringify({ 'main.css': sha256('css'), 'panel.js': 'abc' }), FILE), { message: `${FILE}: "panel.js" should be a SHA-256 digest (64 hex digits), found "abc"` });
    assert.throws(() => parsePageDigests(JSON.stringify({ 'panel.js': sha256('p').toUpperCase() }), FILE), /"panel\.js" should be a SHA-256 digest/);
    assert.throws(() => parsePageDigests(JSON.stringify({ 'panel.js': 7 }), FILE), { message: `${FILE}: "panel.js" should be a SHA-256 digest (64 hex digits), found 7` });
  });
});
