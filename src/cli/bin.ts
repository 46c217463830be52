import { interruptNotice, main } from './main.js';

// The entry file only wires the process to main(): environment, streams, signals, exit code.
const argv = process.argv.slice(2);
const controller = new AbortController();
const notice = interruptNotice(argv);
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals) => {
  interrupts += 1;
  if (interrupts > 1) process.exit(130);
  if (notice !== null) process.stderr.write(`\nparallel-executor: ${signal} received, ${notice}\n`);
  controller.abort(signal);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await main(argv, {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.exitCode = code;
