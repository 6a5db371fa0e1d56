// Unit tests of webview/inflate.ts (the onnxruntime worker inflates the shipped binaries with it): the shipped
// binary inflates to a WebAssembly module, and bytes that are not gzip data give an error that names them.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { ORT_BINARY } from '../../src/core/ortFiles';
import { inflate } from '../../webview/inflate';

const ortFolder = path.join(__dirname, '../../out/ort');

describe('inflate (the onnxruntime worker inflates its binary)', () => {
  it('inflates the shipped wasm binary to the bytes zlib gives, a WebAssembly module', async function () {
    this.timeout(30_000);
    const gz = new Uint8Array(readFileSync(path.join(ortFolder, ORT_BINARY.wasm)));
    const inflated = await inflate(gz, 'the binary');
    assert.ok(Buffer.from(inflated).equals(gunzipSync(gz)));
    assert.deepStrictEqual([...inflated.subarray(0, 8)], [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0], 'a WebAssembly module: "\\0asm", version 1');
  });

  it('names what it could not inflate', async () => {
    await assert.rejects(inflate(new TextEncoder().encode('<html>a proxy page</html>'), "onnxruntime's WebAssembly binary"), /^Error: onnxruntime's WebAssembly binary could not be inflated \(expected gzip data: /);
  });
});
