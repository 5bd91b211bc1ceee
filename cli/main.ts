// Entry point of the tpm-quote executable (bundled by scripts/build.mjs like the plugins).
import { run } from './run';

void run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then((code) => {
  process.exitCode = code;
});
