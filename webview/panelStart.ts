// Why: the panel's starter, inlined in its HTML (webviewHtml.ts) so that it runs as soon as the HTML is parsed,
// without a request: it starts onnxruntime (its worker, the binary of the build the HTML names, the probe) while the panel's
// script is still on its way, and leaves the started backend for it (startedBackend.ts); once the binary has
// arrived it fetches the likely first model's files (earlyFetches.ts) that the page kept no copy of (keptModelFiles.ts),
// for the page's reads to take; the files of that model the page reads in its download worker (a model of
// hundreds of MB) it begins reading there at once (downloadClient.ts, earlyReads.ts). It does nothing else;
// anything that fails here is left to the panel's script, which starts the backend itself when none was left.

import { OrtBackends } from './backend';
import { bootOf, downloadWorkerOf, fileRoutesOf, firstModelDigestsOf, firstModelFilesOf, firstModelLargeFilesOf } from './boot';
import { pageEarlyFetches } from './earlyFetches';
import { FileRoutes, SERVED_READ } from './fileRoutes';
import { pageKeptModelFiles } from './keptModelFiles';
import { mark } from './marks';
import { startForPanel } from './startedBackend';

mark('start');
const boot = bootOf(document.body);
if (boot) {
  startForPanel(() => {
    try {
      const routes = new FileRoutes(fileRoutesOf(document.body));
      const ort = new OrtBackends(boot.ortBaseUri, routes);
      const info = ort.init(boot.backend, boot.probeModelUri, boot.likely);
      info.catch(() => undefined); // the panel's script reports it
      // Its large files: their download is what the first command waits for, so it starts now, beside the backend's.
      const large = firstModelLargeFilesOf(document.body);
      const downloads = large.length ? downloadWorkerOf(document.body, routes) : undefined;
      for (const { url, bytes, what } of large) downloads?.begin(url, { what, code: 'model-invalid', expectedBytes: bytes, ...SERVED_READ });
      if (downloads) mark('early');
      // The likely first model's files: the copies a page kept of them at once, and those it lacks once the binary,
      // which the backend waits for, has arrived.
      const digests = firstModelDigestsOf(document.body);
      const kept = pageKeptModelFiles();
      for (const url of firstModelFilesOf(document.body)) {
        const sha256 = digests.get(url);
        const copy = sha256 ? kept.begin(sha256, url.split('/').slice(-2).join('/')) : Promise.resolve(undefined);
        void Promise.all([copy, ort.binaryFetched]).then(([bytes]) => bytes || pageEarlyFetches().start([url]), () => undefined);
      }
      return { ort, info, ...(downloads ? { downloads } : {}) };
    } catch (err) {
      console.warn(`The panel's starter did not start onnxruntime: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  });
}
