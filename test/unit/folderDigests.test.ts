// Unit tests of parseFolderDigests (src/fileServer.ts): the build's list of a published folder's files and their
// SHA-256 digests (esbuild.mjs writes it into out/ort and out/webview, the file server names the folder by it) is
// read as written, and a damaged one gets an error that names the file, the entry, what was expected and what was
// found.

import * as assert from 'assert';
import { createHash } from 'crypto';
import { parseFolderDigests } from '../../src/fileServer';

const FILE = 'out/webview/digests.json';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe("a published folder's digests (its name)", () => {
  it('reads a list of file names and SHA-256 digests as written', () => {
    const list = { 'panel.js': sha256('panel'), 'panel.js.br': sha256('br'), 'main.css': sha256('css') };
    assert.deepStrictEqual(parseFolderDigests(`${JSON.stringify(list, null, 1)}\n`, FILE), list);
    assert.deepStrictEqual(parseFolderDigests('{}', FILE), {});
  });

  it('names the file, the entry, what was expected and what was found in a damaged list', () => {
    assert.throws(() => parseFolderDigests('{"panel.js": ', FILE), (err: Error) => err.message.startsWith(`${FILE} is not JSON (`));
    assert.throws(() => parseFolderDigests('["panel.js"]', FILE), { message: `${FILE}: expected an object of file names and SHA-256 digests, found an array` });
    assert.throws(() => parseFolderDigests('null', FILE), { message: `${FILE}: expected an object of file names and SHA-256 digests, found null` });
    assert.throws(() => parseFolderDigests('"panel.js"', FILE), { message: `${FILE}: expected an object of file names and SHA-256 digests, found string` });
    assert.throws(() => parseFolderDigests(JSON.stringify({ 'main.css': sha256('css'), 'panel.js': 'abc' }), FILE), { message: `${FILE}: "panel.js" should be a SHA-256 digest (64 hex digits), found "abc"` });
    assert.throws(() => parseFolderDigests(JSON.stringify({ 'panel.js': sha256('p').toUpperCase() }), FILE), /"panel\.js" should be a SHA-256 digest/);
    assert.throws(() => parseFolderDigests(JSON.stringify({ 'panel.js': 7 }), FILE), { message: `${FILE}: "panel.js" should be a SHA-256 digest (64 hex digits), found 7` });
  });
});
