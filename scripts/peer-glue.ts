/**
 * The benchmark's peer: the glue script tracehive replaces, written in Node so both run on
 * the same runtime. It accepts connections, splits each read on newlines with no
 * reassembly (the seed's `recv(4096)` loop), pulls `(\w+)=(\S*)` pairs with a regex and
 * appends one JSON object per line to a file. It is faster than it is correct: lines cut at
 * read boundaries are mangled and values with blanks are truncated.
 *
 * Usage: node dist/scripts/peer-glue.js PORT FILE EXPECTED_LINES  (prints "done" on stdout)
 */
import { createWriteStream } from 'node:fs';
import net from 'node:net';

const [portText, file, expectedText] = process.argv.slice(2);
const expected = Number(expectedText);
const out = createWriteStream(file as string);
const KV = /(\w+)=(\S*)/g;
let seen = 0;

const server = net.createServer((socket) => {
  socket.on('data', (chunk: Buffer) => {
    let batch = '';
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      const event: Record<string, string> = {};
      for (const m of line.matchAll(KV)) event[m[1] as string] = m[2] as string;
      batch += `${JSON.stringify({ title: `${event['category']}: ${event['matchedIndicator']}`, description: line, event })}\n`;
    }
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) seen++;
    if (!out.write(batch)) {
      socket.pause();
      out.once('drain', () => socket.resume());
    }
    if (seen === expected) out.write('', () => process.stdout.write('done\n'));
  });
});
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write('listening\n'));
