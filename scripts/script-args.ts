/**
 * The command line of a bench or peer script: `--help` (`-h`) prints its usage and exits 0; an
 * unknown option, a missing value or a number out of range exits 2 naming it, with the usage
 * (numbers: without it), instead of a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `options` parsed from process.argv (no positionals), or exit as above. */
export function scriptArgs<const O extends Options>(script: string, usage: string, options: O): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options }).values;
  } catch (err) {
    process.stderr.write(`${script}: ${(err as Error).message}\n${usage}\n`);
    process.exit(2);
  }
}

/** The number `text` given to `--name`, or exit 2 saying what was expected (an integer unless `integer` is false, at least `min`). */
export function numberOption(script: string, name: string, text: string, min: number, integer = true): number {
  const n = Number(text);
  if (text.trim() === '' || !(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min) {
    process.stderr.write(`${script}: Expected \`--${name}\` to be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(text)}.\n`);
    process.exit(2);
  }
  return n;
}
