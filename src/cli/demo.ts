/** `npm run demo`: see src/endpoint/demo.ts. */
import { runDemo } from '../endpoint/demo.js';

runDemo().then(
  (r) => {
    const ok = r.httpStatus === 200 && !r.unreachableAnswered;
    process.stdout.write(ok ? 'demo ok\n' : 'demo FAILED\n');
    process.exitCode = ok ? 0 : 1;
  },
  (e: Error) => {
    process.stderr.write(`demo failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  },
);
