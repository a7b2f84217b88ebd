/**
 * Node's own ceiling for `make bench` (issue 15, point 7): the least a Node listener can do with a
 * CyberTrace stream: a `net.Server`, split2 into lines, each line parsed into key=value pairs,
 * counted, nothing else (no spool, no mapping, no output). tracehive's row (a) is shown against
 * it in the same run: what its durability, mapping and encoding cost on top of reading at all.
 *
 * Started by scripts/bench.ts as a child process (its CPU and RSS are its own); prints `port N`,
 * then `count N` every 10 ms.
 */
import net from 'node:net';
import split2 from 'split2';

let lines = 0;
let pairs = 0;

/** key=value pairs of a line, split at blanks: the least parse that reads every pair. */
function parse(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const token of line.split(' ')) {
    const eq = token.indexOf('=');
    if (eq > 0) out[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return out;
}

const server = net.createServer((socket) => {
  socket.pipe(split2()).on('data', (line: string) => {
    lines++;
    pairs += Object.keys(parse(line)).length;
  });
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  process.stdout.write(`port ${port}\n`);
  setInterval(() => process.stdout.write(`count ${lines} ${pairs}\n`), 10);
});
process.on('SIGTERM', () => process.exit(0));
