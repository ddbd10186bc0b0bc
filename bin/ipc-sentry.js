#!/usr/bin/env node
// The ipc-sentry command. Node resolves this file's real path, so the import
// below finds dist/ through npm's symlinks (global install, npx, .bin).
import('../dist/cli.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    process.stderr.write('ipc-sentry: dist/ is missing; in a checkout, run `npm run build` first\n');
    process.exitCode = 4;
    return;
  }
  throw err;
});
